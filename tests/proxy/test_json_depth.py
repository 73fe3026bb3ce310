"""The nesting bound of bodies the proxy parses holds at its edge, whether or not the parsed value
has to be walked (text with few brackets is not)."""

from __future__ import annotations

import pytest

from llmops.proxy.jsonbody import MAX_DEPTH, NotJson, loads


@pytest.mark.parametrize("opener, closer", [("[", "]"), ('{"a":', "}")])
def test_nesting_up_to_the_bound_is_read_and_one_level_more_is_refused(
    opener: str, closer: str
) -> None:
    at_bound = opener * MAX_DEPTH + "1" + closer * MAX_DEPTH
    assert loads(at_bound) is not None
    assert loads(at_bound.encode()) is not None
    past = opener * (MAX_DEPTH + 1) + "1" + closer * (MAX_DEPTH + 1)
    for text in (past, past.encode()):
        with pytest.raises(NotJson) as refused:
            loads(text)
        assert refused.value.kind == "too_deep"


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    shallow = '{"content": "' + "[{" * 500 + '", "more": [[1]]}'
    assert loads(shallow)["more"] == [[1]]
