"""compiler/render/json_text.py must write exactly what `json.dumps(value, indent=2,
ensure_ascii=False, allow_nan=False)` writes, and refuse NaN and infinity (which are not JSON)
instead of writing them."""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compiler.errors import UnrepresentableValue
from compiler.render.json_text import indented_json
from tests.helpers.hostile import TEXT
from tests.helpers.texts import CountingTexts

FINITE = st.floats(allow_nan=False, allow_infinity=False)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(2**70), 2**70), FINITE, TEXT
)
KEYS = st.one_of(TEXT, st.integers(), st.booleans(), st.none(), FINITE)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(TEXT, children, max_size=4),
        st.dictionaries(KEYS, children, max_size=3),
        st.tuples(children, children),
        st.dictionaries(TEXT, children, max_size=3).map(OrderedDict),
    ),
    max_leaves=30,
)


def expected(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)


@given(VALUES)
def test_same_text_as_json_dumps(value: Any) -> None:
    assert indented_json(value) == expected(value)


@pytest.mark.parametrize(
    "value",
    [
        {},
        [],
        {"a": {}},
        {"a": []},
        [[], {}],
        {"learning_rate": 2e-05, "n": 1, "ok": True, "x": None},
        {"é\u2028\x00": "\ud800"},
        {1: "a", False: "b", None: 1.5, 2.5: [1]},
    ],
)
def test_edge_values(value: Any) -> None:
    assert indented_json(value) == expected(value)


@pytest.mark.parametrize(
    "value",
    [
        {"k": math.inf},
        {"k": -math.inf},
        [math.nan],
        {"learning_rate": math.nan},
        {"a": [{"b": math.inf}]},
        {1: math.nan},
        (math.nan,),
    ],
)
def test_non_finite_numbers_are_refused_never_written(value: Any) -> None:
    with pytest.raises(UnrepresentableValue, match="NaN or infinity"):
        indented_json(value)


def test_a_cycle_fails_as_json_dumps_fails() -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="Circular reference"):
        indented_json(cycle)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_templates_and_content_hashes_refuse_non_finite_numbers(value: float) -> None:
    from compiler.render.templating import render_template
    from compiler.render.training import content_hash

    with pytest.raises(ValueError, match="Out of range float"):
        render_template(
            "proxy/service.json.j2", metadata={"name": "p"}, selector={}, port=value, target_port=1
        )
    with pytest.raises(ValueError, match="Out of range float"):
        content_hash({"learning_rate": value})


# what render builds: plain dicts, lists and scalars (the kind of value `marshal` keys)
PLAIN = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(TEXT, children, max_size=4)
    ),
    max_leaves=20,
)
PROXY_CONFIGS = st.dictionaries(
    TEXT, st.one_of(PLAIN, st.lists(st.dictionaries(TEXT, PLAIN, max_size=3), max_size=4))
)


@given(PROXY_CONFIGS)
def test_proxy_config_text_is_the_indented_json_of_the_whole(config: dict[str, Any]) -> None:
    """The proxy's configuration is written entry by entry (each entry's text kept by the render
    cache), and must still be the very text of the whole, with and without kept texts."""
    from compiler.render.proxy_config import proxy_config_text
    from compiler.render.remembered import remembering

    whole = expected(config) + "\n"
    assert proxy_config_text(config) == whole
    texts = CountingTexts()
    with remembering(texts):
        assert proxy_config_text(config) == whole  # every entry's text made and kept
        texts.hits = 0
        assert proxy_config_text(config) == whole  # every entry's text handed out
    assert texts.hits == sum(len(value) for value in config.values() if isinstance(value, list))


def test_proxy_config_entry_changed_is_the_only_text_made_again() -> None:
    from compiler.render.proxy_config import proxy_config_text
    from compiler.render.remembered import remembering

    config: dict[str, Any] = {
        "version": 1,
        "endpoints": [{"name": f"ep-{n}", "maxReplicas": 4} for n in range(50)],
        "models": [],
    }
    texts = CountingTexts()
    with remembering(texts):
        proxy_config_text(config)
        config["endpoints"][7]["maxReplicas"] = 5
        again = proxy_config_text(config)
    assert again == expected(config) + "\n"
    assert texts.hits == 49 and len(texts.texts) == 51
