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
