"""The proxy's strict JSON reader keeps one decoder for all calls (building one per call cost more
than parsing a request body): it must read every text and every byte string exactly as Python's
`json.loads` with the same checks does, the same value or a refusal of the same kind."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from llmops.proxy import jsonbody
from llmops.proxy.jsonbody import NotJson, loads

PIECES = st.sampled_from(
    [
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        '"',
        "\\",
        "\\u",
        "d800",
        "dc00",
        "0041",
        "1",
        "-",
        "0",
        ".",
        "5",
        "e",
        "E",
        "+",
        "999",
        "true",
        "null",
        "NaN",
        "Infinity",
        " ",
        "\n",
        "\ufeff",
        "\ud800",
        "é",
        "한",
        "\x00",
        '"a"',
        '{"k": [1.5, "v"]}',
        "[[[[",
        "]]]]",
    ]
)
TEXTS = st.lists(PIECES, max_size=30).map("".join)
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "utf-16-le", "utf-16-be", "utf-16", "utf-32"])


def reference(data: bytes | str) -> tuple[str, Any]:
    """What `json.loads` with the reader's hooks, then its depth bound, makes of ``data``: the
    value, or why not, in the reader's words."""
    try:
        value = json.loads(
            data, parse_constant=jsonbody._no_constant, parse_float=jsonbody._finite_float
        )
    except NotJson as refused:
        return refused.kind, refused.message
    except RecursionError:
        return "too_deep", jsonbody._too_deep(jsonbody.MAX_DEPTH)
    except UnicodeDecodeError:
        return "invalid", "it is not UTF-8 text"
    except ValueError as error:  # JSONDecodeError, the int-string limit
        return "invalid", str(error)[:200]
    if jsonbody.depth(value) > jsonbody.MAX_DEPTH:
        return "too_deep", jsonbody._too_deep(jsonbody.MAX_DEPTH)
    return "value", value


def read(data: bytes | str) -> tuple[str, Any]:
    try:
        return "value", loads(data)
    except NotJson as refused:
        return refused.kind, refused.message


@given(TEXTS)
@example("\ufeff{}")
def test_texts_are_read_as_json_loads_reads_them(text: str) -> None:
    assert read(text) == reference(text)


@given(TEXTS, ENCODINGS)
@example('["\ud800"]', "utf-8")
@example("\ufeff{}", "utf-8")
def test_bytes_are_read_as_json_loads_reads_them(text: str, encoding: str) -> None:
    data = text.encode(encoding, "surrogatepass")
    assert read(data) == reference(data)


@given(st.binary(max_size=40))
def test_any_bytes_are_read_as_json_loads_reads_them(data: bytes) -> None:
    assert read(data) == reference(data)
