"""compiler/emit/yaml_text.py writes rendered objects through a fast path; it must write exactly
the bytes of the reference functions (`_emit_mapping`, `_emit_entry`, `_emit_sequence`) that define
the output."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from compiler.emit import yaml_text as emit
from tests.helpers.hostile import TEXT


def reference(obj: dict[str, Any]) -> str:
    out: list[str] = []
    emit._emit_mapping(emit._ordered(obj), "", out)
    return "".join(out)


KEYS = st.one_of(
    TEXT, st.sampled_from(["a", "kind", "metadata", "spec", "k" * 1100, "y", "0755", ""])
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
    st.sampled_from(["a\nb", "a\nb\n", " a\n", "a\n\n", "\n", "x" * 1100, "team\n"]),
)


def _collections(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(KEYS, children, max_size=4),
        # subclasses take the general path, which must agree too
        st.dictionaries(KEYS, children, max_size=3).map(OrderedDict),
        st.lists(children, max_size=3).map(tuple).map(list),
    )


VALUES = st.recursive(SCALARS, _collections, max_leaves=30)


@given(st.dictionaries(KEYS, VALUES, min_size=1, max_size=6))
def test_fast_path_writes_the_reference_bytes(document: dict[str, Any]) -> None:
    assert emit.emit_document(document) == reference(document)


def test_fast_path_on_nested_lists_of_mappings() -> None:
    document = {
        "spec": {
            "items": [
                {"k" * 1100: 1, "b": [{"c": "d\ne"}, [], {}, [[1, "x"]]]},
                OrderedDict(a=1, b=2),
                1.5,
                None,
                True,
                "y",
            ]
        }
    }
    assert emit.emit_document(document) == reference(document)


def reference_literal_block(text: str, indent: str) -> str | None:
    """The literal block's definition: each line indented unless empty, and only for a text whose
    characters need no escape (the regular expressions that define that)."""
    if "\n" not in text or text.startswith((" ", "\n")) or text.endswith("\n\n"):
        return None
    if "\t" in text or "\r" in text or " \n" in text or text.endswith(" "):
        return None
    if emit._needs_escape(text).search(text):
        return None
    body, chomp = (text[:-1], "|") if text.endswith("\n") else (text, "|-")
    lines = "\n".join(f"{indent}{line}" if line else "" for line in body.split("\n"))
    return f"{chomp}\n{lines}"


# lines of printable ASCII, of any character, or empty; every ASCII character on its own (the
# byte deletion must refuse exactly what the pattern refuses: DEL, NUL, the C0 controls)
LINES = st.lists(
    st.one_of(
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12),
        st.text(max_size=6),
        st.just(""),
        st.sampled_from([chr(code) for code in range(0x80)]),
    ),
    min_size=1,
    max_size=8,
)


@given(LINES, st.booleans(), st.sampled_from(["", "  ", "      "]))
def test_literal_block_writes_its_definition(lines: list[str], ending: bool, indent: str) -> None:
    text = "\n".join(lines) + ("\n" if ending else "")
    assert emit._literal_block(text, indent) == reference_literal_block(text, indent)


def test_literal_block_of_a_large_text_without_empty_lines() -> None:
    text = "\n".join(f'  "endpoint-{n}": {{"replicas": {n}}},' for n in range(3000)) + "\n}\n"
    text = "{\n" + text
    assert emit._literal_block(text, "    ") == reference_literal_block(text, "    ")
    assert emit._literal_block(text + "\x7f", "    ") is None


def test_only_short_texts_are_remembered_by_the_writer() -> None:
    """The same for the emitter: a long annotation that changes every render is written anew,
    not kept (a process that goes on renders many of them)."""
    long_text, long_key = "note " * 100 + "end", "k" * 200
    written = emit.emit_document({"metadata": {"annotations": {long_key: long_text}}})
    assert long_text not in emit._STRINGS and long_key not in emit._KEYS
    before = emit._is_plain_safe_remembered.cache_info().currsize
    emit.is_plain_safe(long_text)
    assert emit._is_plain_safe_remembered.cache_info().currsize == before
    assert written == emit.emit_document({"metadata": {"annotations": {long_key: long_text}}})
