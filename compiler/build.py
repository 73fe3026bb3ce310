"""`llmops render` as one pure function of the repository: validate, render and lay the objects out
as text. Its result depends only on what it reads through the ``RepoTree``, so the edge may keep it
(llmops/render_cache.py) and hand it out again while those bytes stay the same.

The stages are imported when the function runs: a render served from the cache needs only
``RenderOutput`` and must not pay for pydantic, Jinja2 and the rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from compiler.load.tree import RepoTree
    from compiler.pipeline import ValidationResult
    from compiler.render.estate import RenderedEstate


@dataclass(frozen=True)
class RenderOutput:
    """The rendered objects as text. ``files`` maps `<group>/<file name>` to a file's content (the
    groups in render order; in each, its objects in apply order, then its index), ``stream`` is
    every object in one YAML stream; each is there only when asked for."""

    objects: int
    directories: list[str]
    files: dict[str, str] = field(default_factory=dict)
    stream: str | None = None


def lay_out(rendered: RenderedEstate, *, files: bool, stream: bool) -> RenderOutput:
    from compiler.emit.layout import layout_group
    from compiler.emit.yaml_text import emit_stream

    laid_out: dict[str, str] = {}
    if files:
        for group, objects in rendered.groups.items():
            for name, text in layout_group(objects).items():
                laid_out[f"{group}/{name}"] = text
    return RenderOutput(
        objects=sum(len(objects) for objects in rendered.groups.values()),
        directories=list(rendered.groups),
        files=laid_out,
        stream="".join(map(emit_stream, rendered.groups.values())) if stream else None,
    )


def render_repository(
    tree: RepoTree, env: str | None, *, files: bool, stream: bool
) -> tuple[ValidationResult, RenderOutput | None]:
    """Validate the estate (or one environment of it, then without the Argo CD objects) and, when
    no error was found, render it as files (`render -o`), as one stream (stdout), or both."""
    from compiler.pipeline import validate_repository
    from compiler.render.estate import render_estate

    result = validate_repository(tree, env)
    if result.error_count:
        return result, None
    rendered = render_estate(result.estate, include_argocd=env is None)
    return result, lay_out(rendered, files=files, stream=stream)
