"""compiler/render/json_text.py must write exactly what `json.dumps(value, indent=2, ensure_ascii=False)` writes."""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compiler.render.json_text import indented_json
from tests.helpers.hostile import TEXT

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-(2**70), 2**70), st.floats(), TEXT)
KEYS = st.one_of(TEXT, st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False))
VALUES = st.recursive(SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(TEXT, children, max_size=4),
    st.dictionaries(KEYS, children, max_size=3), st.tuples(children, children),
    st.dictionaries(TEXT, children, max_size=3).map(OrderedDict)), max_leaves=30)


def expected(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


@given(VALUES)
def test_same_text_as_json_dumps(value: Any) -> None:
    assert indented_json(value) == expected(value)


@pytest.mark.parametrize("value", [
    {}, [], {"a": {}}, {"a": []}, [[], {}], {"learning_rate": 2e-05, "n": 1, "ok": True, "x": None},
    {"k": math.inf}, {"k": -math.inf}, [math.nan], {"é\u2028\x00": "\ud800"}, {1: "a", False: "b", None: 1.5, 2.5: [1]},
])
def test_edge_values(value: Any) -> None:
    assert indented_json(value) == expected(value)


def test_a_cycle_fails_as_json_dumps_fails() -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="Circular reference"):
        indented_json(cycle)
