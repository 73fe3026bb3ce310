"""Texts handed out for objects emitted before are the texts `emit_document` writes for them: an
object is known by its exact value, so objects the emitter writes differently never share a
text."""

from __future__ import annotations

from typing import Any

import pytest

from compiler.emit.memo import KEPT_FORM_LIMIT, object_key, remembering_emitter
from compiler.emit.yaml_text import emit_document
from tests.helpers.texts import CountingTexts as Texts

# values equal in Python (or in JSON) that the emitter writes apart, or must refuse apart
LOOK_ALIKES: list[list[Any]] = [
    [1, True, 1.0],
    [0, False, 0.0, -0.0],
    ["1", 1],
    ["null", None],
    [{"a": 1, "b": 2}, {"b": 2, "a": 1}],
    [[1, 2], (1, 2)],
    ["x\n", "x\r\n", "x"],
    [0.1, 0.1 + 2**-56],
]


def _emitted(value: Any) -> str | type[Exception]:
    try:
        return emit_document({"kind": "Thing", "value": value})
    except Exception as error:
        return type(error)


@pytest.mark.parametrize("values", LOOK_ALIKES)
def test_objects_the_emitter_tells_apart_have_other_keys(values: list[Any]) -> None:
    keys = [object_key({"kind": "Thing", "value": value}) for value in values]
    assert len(set(keys)) == len(values)


@pytest.mark.parametrize("values", LOOK_ALIKES)
def test_a_remembered_text_is_the_text_emitted_cold(values: list[Any]) -> None:
    texts = Texts()
    emit = remembering_emitter(texts)
    for _ in range(2):  # the second time every text is handed out
        for value in values:
            obj = {"kind": "Thing", "value": value}
            expected = _emitted(value)
            if isinstance(expected, str):
                assert emit(obj) == expected
            else:
                with pytest.raises(expected):
                    emit(obj)
    assert texts.hits == sum(isinstance(_emitted(value), str) for value in values)


def test_objects_of_other_types_are_emitted_every_time() -> None:
    class Text(str):
        def __str__(self) -> str:
            return "something else"

    texts = Texts()
    emit = remembering_emitter(texts)
    obj = {"kind": "Thing", "value": Text("plain")}
    assert object_key(obj) is None
    assert emit(obj) == emit(obj) == emit_document(obj)
    assert texts.texts == {} and texts.hits == 0


def test_a_text_is_the_same_object_s_whatever_its_strings_share() -> None:
    shared = "name-" + str(7)
    one = {"kind": "Thing", "a": shared, "b": shared}
    other = {"kind": "Thing", "a": "name-7", "b": "".join(["name", "-7"])}
    assert object_key(one) == object_key(other)


def test_an_object_too_large_to_keep_is_emitted_every_time_and_never_kept() -> None:
    """An environment's proxy ConfigMap at a thousand endpoints: any change changes it, and
    hashing, keeping and reading back its megabytes cost more than writing it again."""
    texts = Texts()
    emit = remembering_emitter(texts)
    large = {"kind": "ConfigMap", "data": {"proxy.json": "x" * KEPT_FORM_LIMIT}}
    small = {"kind": "ConfigMap", "data": {"proxy.json": "x" * (KEPT_FORM_LIMIT // 2)}}
    assert object_key(large) is None and object_key(small) is not None
    for _ in range(2):
        assert emit(large) == emit_document(large)
        assert emit(small) == emit_document(small)
    assert list(texts.texts) == [object_key(small)] and texts.hits == 1
