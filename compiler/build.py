"""`llmops render` as one pure function of the repository: validate, render and lay the objects out
as text. Its result depends only on what it reads through the ``RepoTree``, so the edge may keep it
(llmops/render_cache.py) and hand it out again while those bytes stay the same.

The stages are imported when the function runs: a render served from the cache needs only
``RenderOutput`` and must not pay for pydantic, Jinja2 and the rules."""

from __future__ import annotations

import contextlib
from dataclasses import field
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from compiler.records import record

if TYPE_CHECKING:
    from compiler.emit.memo import EmittedGroups, EmittedTexts
    from compiler.load.estate import ParsedFiles, SourceFiles
    from compiler.load.tree import RepoTree
    from compiler.pipeline import KnownChecks, ValidationResult
    from compiler.render.estate import RenderedEstate
    from compiler.render.remembered import Origins


# Text as the render cache keeps it: UTF-8 bytes, written out as they are and decoded only when read
# as text (an unchanged render of 1,000 endpoints x 3 to stdout is 26 MB: decoding them and
# encoding them again cost about a sixth of the run)
Utf8Text = bytes | memoryview


def _as_text(part: str | Utf8Text) -> str:
    return part if isinstance(part, str) else str(part, "utf-8")


@record
class RenderOutput:
    """The rendered objects as text. ``files`` maps `<group>/<file name>` to a file's content (the
    groups in render order; in each, its objects in apply order, then its index), ``stream`` is
    every object in one YAML stream; each is there only when asked for."""

    objects: int
    directories: list[str]
    files: dict[str, str] = field(default_factory=dict)
    # the stream as each group's part of it, in render order (None: not asked for); joined only
    # when read whole: written part by part, a render of megabytes is not copied twice more (the
    # joined text, then its UTF-8 bytes)
    stream_parts: tuple[str | Utf8Text, ...] | None = None
    # the same text by group (`directories`), when it was rendered one group at a time: the
    # cache keeps a whole render as its environments' entries, not as a copy of their text
    groups: dict[str, RenderedGroup] = field(default_factory=dict, compare=False, repr=False)

    @property
    def stream(self) -> str | None:
        """Every object in one YAML stream."""
        return None if self.stream_parts is None else "".join(map(_as_text, self.stream_parts))

    def write_stream(self, out: TextIO) -> None:
        """Write the stream (nothing when it was not asked for) to ``out``, part by part: the same
        text as ``out.write(self.stream)``, without making it whole. (A process's standard output
        takes the parts the cache kept as their bytes: llmops/stream_output.py.)"""
        for part in self.stream_parts or ():
            out.write(_as_text(part))

    @classmethod
    def joining(cls, groups: dict[str, RenderedGroup], stream: bool) -> RenderOutput:
        """The whole render from its groups in render order: as rendered, or as the cache kept
        them (one layout for both, so a cached render is the same text)."""
        return cls(
            objects=sum(group.objects for group in groups.values()),
            directories=list(groups),
            files={
                f"{name}/{file}": text
                for name, group in groups.items()
                for file, text in group.files.items()
            },
            stream_parts=tuple(group.stream or "" for group in groups.values()) if stream else None,
            groups=groups,
        )


@record
class RenderedGroup:
    """One environment's objects as text: its files (names within its directory) and its part of
    the stream, each only when asked for."""

    objects: int
    files: dict[str, str]
    stream: str | Utf8Text | None


class RenderedGroups(Protocol):
    """Environments rendered before (the edge keeps them, llmops/render_cache.py). An environment's
    objects follow from its own manifests, `_shared`, the environments it names (see
    `compiler.render.estate.render_reads`) and the files its render asks for, never from another
    environment's files. ``env`` is a `ResolvedEnvironment` (not imported here: the core's parts
    import one way)."""

    def lookup(self, env: Any, reads: set[str]) -> RenderedGroup | None: ...

    def rendering(self, env: Any) -> contextlib.AbstractContextManager[Any]:
        """Entered while ``env`` is rendered: what it asks the repository then is its own."""
        ...

    def store(self, env: Any, reads: set[str], group: RenderedGroup) -> None: ...


def lay_out_group(
    objects: list[dict[str, Any]],
    *,
    files: bool,
    stream: bool,
    emitted: EmittedTexts | None = None,
    origins: Origins | None = None,
) -> RenderedGroup:
    """One group's objects as text; ``emitted`` hands out the texts of objects emitted before,
    ``origins`` knows the objects parsed from texts kept there."""
    from compiler.emit.layout import layout_group
    from compiler.emit.memo import remembering_emitter
    from compiler.emit.yaml_text import emit_document, emit_stream

    known_key = None if origins is None else origins.key_of
    emit = emit_document if emitted is None else remembering_emitter(emitted, known_key)
    return RenderedGroup(
        objects=len(objects),
        files=layout_group(objects, emit) if files else {},
        stream=emit_stream(objects, emit) if stream else None,
    )


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
        stream_parts=tuple(map(emit_stream, rendered.groups.values())) if stream else None,
    )


def render_repository(
    tree: RepoTree,
    env: str | None,
    *,
    files: bool,
    stream: bool,
    parsed: ParsedFiles | None = None,
    groups: RenderedGroups | None = None,
    known: KnownChecks | None = None,
    emitted: EmittedGroups | None = None,
    sources: SourceFiles | None = None,
) -> tuple[ValidationResult, RenderOutput | None]:
    """Validate the estate (or one environment of it, then without the Argo CD objects) and, when
    no error was found, render it as files (`render -o`), as one stream (stdout), or both.
    ``parsed``, ``known``, ``groups`` and ``emitted`` hand out what earlier runs parsed, what their
    checks reported, what they rendered and the texts of the objects they emitted (``emitted`` is
    used with ``groups``), ``sources`` the files an earlier command of this process read; the
    output is the same without them."""
    from compiler.pipeline import peer_reads_run, validate_repository

    with peer_reads_run():  # the render reads peers too: its log is the run's
        result = validate_repository(tree, env, parsed=parsed, known=known, sources=sources)
        if result.error_count:
            return result, None
        if groups is None:
            from compiler.render.estate import render_estate

            rendered = render_estate(result.estate, include_argocd=env is None)
            return result, lay_out(rendered, files=files, stream=stream)
        return result, _render_by_group(
            result, groups, include_argocd=env is None, files=files, stream=stream, emitted=emitted
        )


def _render_by_group(
    result: ValidationResult,
    groups: RenderedGroups,
    *,
    include_argocd: bool,
    files: bool,
    stream: bool,
    emitted: EmittedGroups | None = None,
) -> RenderOutput:
    """`render_estate` and `lay_out`, one environment at a time, taking what ``groups`` kept."""
    from compiler.render.argocd import render_argocd
    from compiler.render.estate import (
        ARGOCD_GROUP,
        order_objects,
        render_environment,
        render_reads,
    )
    from compiler.render.remembered import Origins, remembering

    laid_out: dict[str, RenderedGroup] = {}
    for env in result.estate.environments:
        reads = render_reads(env)
        group = groups.lookup(env, reads)
        if group is None:
            texts = None if emitted is None else emitted.group(env.name)
            origins = Origins()
            with groups.rendering(env):
                with remembering(texts, origins):
                    objects = render_environment(env)
                group = lay_out_group(
                    objects, files=files, stream=stream, emitted=texts, origins=origins
                )
            groups.store(env, reads, group)
        laid_out[env.name] = group
    if include_argocd:
        texts = None if emitted is None else emitted.group(ARGOCD_GROUP)
        origins = Origins()
        with remembering(texts, origins):
            argocd_objects = render_argocd(result.estate.environments)
        if argocd_objects:
            laid_out[ARGOCD_GROUP] = lay_out_group(
                order_objects(argocd_objects),
                files=files,
                stream=stream,
                emitted=texts,
                origins=origins,
            )
    return RenderOutput.joining(laid_out, stream)
