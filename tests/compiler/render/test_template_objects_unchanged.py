"""An object a template made is emitted as it was made: the emitter knows it by its template
text's key (compiler/render/remembered.py, `Origins`), so a renderer that changed it afterwards
would get the text of the object it did not emit. Every renderer is run over the bundled estate
and every estate the rules' examples render (canaries on both backends, prefill, adapters, both
training backends, Argo CD), and each object noted is compared with itself as it was parsed.
"""

from __future__ import annotations

import marshal
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from compiler.build import lay_out_group
from compiler.emit.yaml_text import emit_stream
from compiler.render.argocd import render_argocd
from compiler.render.estate import order_objects, render_environment
from compiler.render.remembered import Origins, remembering
from tests.helpers.estate import PROJECT_ROOT, copy_bundled_estate, validate
from tests.helpers.texts import CountingTexts

RULE_EXAMPLES = sorted(
    path.parent
    for path in (PROJECT_ROOT / "tests" / "fixtures" / "rules").glob("*/good/environments")
)


class KeepingTexts(CountingTexts):
    """Texts, and the values parsed from them, as the warm server keeps them between renders: a
    value handed out again is the same object, which an edit would change for every later render."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[bytes, Any] = {}
        self.handed_out = 0

    def parsed(self, key: bytes) -> Any | None:
        value = self.values.get(key)
        self.handed_out += value is not None
        return value

    def keep_parsed(self, key: bytes, value: Any, size: int) -> None:
        self.values[key] = value


class SnapshotOrigins(Origins):
    """`Origins` that keep each object's exact form as it was noted."""

    def __init__(self) -> None:
        super().__init__()
        self.noted: list[tuple[dict[str, Any], bytes]] = []

    def note(self, obj: object, key: bytes) -> None:
        assert isinstance(obj, dict)
        self.noted.append((obj, marshal.dumps(obj, 0)))
        super().note(obj, key)

    def changed(self) -> list[str]:
        return [
            f"{obj.get('kind')} {obj.get('metadata', {}).get('name')}"
            for obj, form in self.noted
            if marshal.dumps(obj, 0) != form
        ]


def _groups(root: Path) -> list[Callable[[], list[dict[str, Any]]]]:
    """How to render each group of the estate at ``root``: its environments, then Argo CD's."""
    result = validate(root)
    if result.error_count:
        pytest.skip("the example does not render (its checks report an error)")
    envs = result.estate.environments
    renders: list[Callable[[], list[dict[str, Any]]]] = [
        partial(render_environment, env) for env in envs
    ]
    renders.append(lambda: order_objects(render_argocd(envs)))
    return renders


def _render_twice(root: Path) -> tuple[list[str], int, list[tuple[str, str, str]]]:
    """Each group rendered cold, then twice with one store of texts (which keeps what was parsed
    from them, as the warm server does); what changed after it was noted, how many texts were
    handed out by their origin or values by their text, and each group's three streams."""
    changed: list[str] = []
    hits = 0
    streams = []
    for render in _groups(root):
        cold = emit_stream(render())
        texts = KeepingTexts()
        made = []
        for _ in range(2):
            origins = SnapshotOrigins()
            with remembering(texts, origins):
                objects = render()
            keys = [origins.key_of(obj) for obj in objects]
            hits += sum(key is not None and key in texts.texts for key in keys)
            group = lay_out_group(objects, files=True, stream=True, emitted=texts, origins=origins)
            changed.extend(origins.changed())
            assert isinstance(group.stream, str)
            made.append(group.stream)
        streams.append((cold, made[0], made[1]))
        hits += texts.handed_out
    return changed, hits, streams


@pytest.mark.parametrize("root", RULE_EXAMPLES, ids=lambda path: path.parent.name)
def test_no_renderer_changes_an_object_its_template_made(root: Path) -> None:
    changed, _, streams = _render_twice(root)
    assert changed == []
    for cold, first, again in streams:
        assert first == cold and again == cold


def test_the_bundled_estate_s_objects_are_known_by_their_origin(tmp_path: Path) -> None:
    changed, hits, streams = _render_twice(copy_bundled_estate(tmp_path))
    assert changed == []
    assert hits > 0, "no object was handed out by its text's key: the test proves nothing"
    for cold, first, again in streams:
        assert first == cold and again == cold


def test_an_object_changed_after_its_template_made_it_is_found() -> None:
    """The check above can fail: an object edited after it was noted is reported."""
    origins = SnapshotOrigins()
    obj: dict[str, Any] = {"kind": "Thing", "metadata": {"name": "a"}}
    origins.note(obj, b"k" * 32)
    obj["metadata"]["name"] = "b"
    assert origins.changed() == ["Thing b"]
