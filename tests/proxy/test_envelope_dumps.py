"""The proxy writes every body it sends (to model servers and to callers) with encoders made once:
the bytes must be those `json.dumps` with the same options gives, a NaN must still be refused, and
text with a lone surrogate still escaped rather than failing."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from llmops.proxy.envelope import dumps

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def expected(value: Any) -> bytes:
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return text.encode()
    except UnicodeEncodeError:
        return json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode()


@given(VALUES)
@example({"content": "\ud800 alone", "é": ["한", 1.5, None]})
def test_bodies_are_written_as_json_dumps_writes_them(value: Any) -> None:
    assert dumps(value) == expected(value)


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_a_number_json_cannot_carry_is_refused(number: float) -> None:
    with pytest.raises(ValueError):
        dumps({"temperature": number})
