"""Objects remembered by what they are made of (compiler/render/remembered.py): a render that
remembers gives the objects a render that does not would, and a remembered text that is not such
objects is never handed out."""

from __future__ import annotations

import marshal
from typing import Any

import pytest

from compiler.render.remembered import remembered_objects, remembering, text_key


class Texts:
    def __init__(self) -> None:
        self.texts: dict[bytes, str] = {}

    def get(self, key: bytes) -> str | None:
        return self.texts.get(key)

    def put(self, key: bytes, text: str) -> None:
        self.texts[key] = text


def _exact(value: Any) -> bytes:
    return marshal.dumps(value, 0)


def _made(value: Any, made: list[Any]) -> list[dict[str, Any]]:
    made.append(value)
    return [{"kind": "ConfigMap", "data": {"value": str(value)}, "n": 1, "f": 0.5, "b": True}]


def test_objects_made_from_the_same_value_are_handed_out_exactly_as_made() -> None:
    texts, made = Texts(), []
    cold = _made(3, [])
    with remembering(texts):
        first = remembered_objects("test", 3, lambda: _made(3, made))
        again = remembered_objects("test", 3, lambda: _made(3, made))
        other = remembered_objects("test", 4, lambda: _made(4, made))
    assert _exact(first) == _exact(again) == _exact(cold)
    assert _exact(other) == _exact(_made(4, []))
    assert made == [3, 4], "the second call with the same value made its objects again"


def test_values_of_other_types_are_other_keys() -> None:
    texts, made = Texts(), []
    with remembering(texts):
        remembered_objects("test", 1, lambda: _made(1, made))
        remembered_objects("test", True, lambda: _made(True, made))
        remembered_objects("test", 1.0, lambda: _made(1.0, made))
        remembered_objects("test", (1,), lambda: _made((1,), made))
        remembered_objects("test", [1], lambda: _made([1], made))
    assert made == [1, True, 1.0, (1,), [1]]


def test_objects_json_would_change_are_made_every_time() -> None:
    """A tuple, a non-string key or a non-finite float does not come back from JSON as it was."""
    for odd in ({"t": (1, 2)}, {1: "x"}, {"f": float("nan")}, {"s": {1, 2}}):
        texts, made = Texts(), []
        with remembering(texts):
            for _ in range(2):
                objects = remembered_objects(
                    "test", 1, lambda odd=odd, made=made: made.append(1) or [odd]
                )
                assert objects[0] is odd
        assert made == [1, 1] and texts.texts == {}


def test_a_remembered_text_that_is_not_a_list_of_objects_is_not_used() -> None:
    for foreign in ("{", '{"kind": "x"}', '["x"]', "[1]", ""):
        texts, made = Texts(), []
        key = text_key("test", 5)
        assert key is not None
        texts.texts[key] = foreign
        with remembering(texts):
            objects = remembered_objects("test", 5, lambda made=made: _made(5, made))
        assert _exact(objects) == _exact(_made(5, [])) and made == [5]


def test_without_remembering_objects_are_always_made() -> None:
    made: list[Any] = []
    remembered_objects("test", 2, lambda: _made(2, made))
    remembered_objects("test", 2, lambda: _made(2, made))
    assert made == [2, 2]


def test_texts_the_objects_are_made_with_are_not_kept_beside_them() -> None:
    """Templates rendered while making remembered objects are not remembered: the objects are."""
    from compiler.render.remembered import remembered_text

    texts = Texts()

    def make() -> list[dict[str, Any]]:
        return [{"text": remembered_text("inner", 1, lambda: "inner text")}]

    with remembering(texts):
        remembered_objects("test", 6, make)
    assert list(texts.texts) == [text_key("test", 6)]


def test_a_text_made_from_a_value_too_large_to_keep_is_made_every_time() -> None:
    """The proxy ConfigMap's values hold the whole configuration's text, which any change to the
    environment changes: it is made again, never hashed and kept."""
    from compiler.render.remembered import KEPT_FORM_LIMIT, remembered_text

    texts, made = Texts(), []
    large, small = "y" * KEPT_FORM_LIMIT, "y" * (KEPT_FORM_LIMIT // 2)
    with remembering(texts):
        for _ in range(2):
            for value in (large, small):
                text = remembered_text("test", value, lambda v=value: made.append(len(v)) or v)
                assert text == value
    assert text_key("test", large) is None
    assert made == [len(large), len(small), len(large)]
    assert list(texts.texts) == [text_key("test", small)]


class KeepingTexts(Texts):
    """Texts and the values parsed from them, as the warm server keeps them."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[bytes, Any] = {}

    def parsed(self, key: bytes) -> Any | None:
        return self.values.get(key)

    def keep_parsed(self, key: bytes, value: Any, size: int) -> None:
        self.values[key] = value


def test_objects_parsed_once_are_handed_out_again_without_parsing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A store that keeps parsed values (the warm server's) parses a text once; until then, and
    for a store that keeps none, each use parses it."""
    from compiler.render import remembered

    parses: list[str] = []
    loads = remembered.json.loads

    def counted(text: str) -> Any:
        parses.append(text)
        return loads(text)

    monkeypatch.setattr(remembered.json, "loads", counted)
    for texts, expected_parses in ((KeepingTexts(), 1), (Texts(), 2)):
        with remembering(texts):
            made = remembered_objects("test", 7, lambda: _made(7, []))
        parses.clear()  # made, then its text checked: now kept
        with remembering(texts):
            first = remembered_objects("test", 7, lambda: _made(7, []))
        with remembering(texts):
            again = remembered_objects("test", 7, lambda: _made(7, []))
        assert _exact(first) == _exact(again) == _exact(made)
        assert (first is again) == isinstance(texts, KeepingTexts)
        assert len(parses) == expected_parses, parses
