"""Most bodies and events are parsed by orjson first; the standard library's strict reader decides
everything orjson refuses or might read differently. So orjson must never pass what the strict rules
refuse, and what it passes must be the very value the strict reader makes (same types, same float
bits, same keys in the same order): a caller's body, a model server's answer or a stream's event
must be judged and sent on exactly as before."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from llmops.proxy import jsonbody
from llmops.proxy.envelope import dumps, dumps_document
from llmops.proxy.fields import lone_surrogate
from llmops.proxy.jsonbody import MAX_DEPTH, NotJson, is_plain_object, loads, loads_noting_orjson

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.sampled_from(["\ud800", "a\udc00b", "\ud83d\ude00", "\x00\x1f\x7f", "\u2028"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
# Bytes a body may carry besides well-formed JSON: numbers json.dumps never writes, broken escapes,
# non-finite values, a BOM, raw surrogates, control characters, duplicate keys.
NOISE = st.sampled_from(
    [
        b"1e999",
        b"-1E400",
        b"1.7976931348623159e308",
        b"4.9e-324",
        b"0.1e1",
        b"-0",
        b"-0.0",
        b"01",
        b"1.",
        b".5",
        b"+1",
        b"NaN",
        b"Infinity",
        b"\\ud800",
        b"\\udc00",
        b"\\ud83d\\ude00",
        b"\xed\xa0\x80",
        b"\xef\xbb\xbf",
        b"\x00",
        b"\x1f",
        b"\t",
        b'"a":1,"a":2',
        b"12345678901234567890123",
        b"18446744073709551616",
        b"-9223372036854775809",
        b"[" * 70,
        b"]" * 70,
        b",",
        b"}",
    ]
)


def same(left: Any, right: Any) -> bool:
    """Equal, and of the same types throughout (1 is not 1.0, -0.0 is not 0.0), keys in order."""
    if type(left) is not type(right):
        return False
    if isinstance(left, float):
        return bool(left.hex() == right.hex())
    if isinstance(left, dict):
        return list(left) == list(right) and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same, left, right))
    return bool(left == right)


def strict(data: bytes) -> tuple[str, Any]:
    try:
        return "value", jsonbody._loads_strictly(data, MAX_DEPTH)
    except NotJson as refused:
        return refused.kind, (refused.message, refused.line, refused.column)


def read(data: bytes) -> tuple[str, Any]:
    try:
        return "value", loads(data)
    except NotJson as refused:
        return refused.kind, (refused.message, refused.line, refused.column)


def check(data: bytes) -> None:
    quick = jsonbody._quick(data, max_depth=len(data))  # no depth bound: orjson's value alone
    if quick is not jsonbody._UNDECIDED:  # orjson passed it: the strict reader takes it too
        kind, value = strict(data)
        assert kind == "value" and same(quick, value)
        # and it holds no lone surrogate: the route looks for one only in what orjson refused
        assert lone_surrogate(quick) is None
    kind, value = read(data)
    expected_kind, expected = strict(data)
    assert kind == expected_kind
    assert same(value, expected) if kind == "value" else value == expected
    try:
        noted, by_orjson = loads_noting_orjson(data)
    except NotJson as refused:
        assert kind != "value" and value == (refused.message, refused.line, refused.column)
    else:
        assert kind == "value" and same(noted, value)
        assert by_orjson == (
            quick is not jsonbody._UNDECIDED and jsonbody.depth(quick) <= MAX_DEPTH
        )


@given(VALUES, st.booleans(), st.booleans())
@example({"a": 2**64}, False, False)
@example([1e16, 1.5e-7, -0.0, 5e-324], False, True)
def test_orjson_passes_only_what_the_strict_reader_reads_the_same(
    value: Any, ascii_only: bool, spaced: bool
) -> None:
    separators = (", ", ": ") if spaced else (",", ":")
    text = json.dumps(value, ensure_ascii=ascii_only, separators=separators)
    check(text.encode("utf-8", "surrogatepass"))


@given(st.lists(VALUES.map(json.dumps).map(str.encode) | NOISE, max_size=8), st.binary(max_size=3))
def test_orjson_never_passes_a_body_the_strict_rules_refuse(
    pieces: list[bytes], tail: bytes
) -> None:
    joined = b"".join(pieces)
    for data in (joined, b"[" + b",".join(pieces) + b"]", b'{"k":' + joined + b"}", joined + tail):
        check(data)


@given(st.binary(max_size=40))
def test_any_bytes_are_judged_as_the_strict_reader_judges_them(data: bytes) -> None:
    check(data)


@pytest.mark.parametrize(
    ("body", "kind", "message"),
    [
        (b'{"temperature": 1e999}', "non_finite", "the number 1e999 is too large for a double"),
        (b'{"t": -1E400}', "non_finite", "the number -1E400 is too large for a double"),
        (b'{"t": NaN}', "non_finite", "NaN is not a JSON number (JSON has no NaN or Infinity)"),
        (b'{"t": -Infinity}', "non_finite", "-Infinity is not a JSON number"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "too_deep", "nest more than 64"),
        (b"[" * 2000 + b"]" * 2000, "too_deep", "nest more than 64"),
        (b'{"a": 1,}', "invalid", "Expecting property name enclosed in double quotes"),
    ],
)
def test_refusals_say_what_they_said_before(body: bytes, kind: str, message: str) -> None:
    with pytest.raises(NotJson) as refused:
        loads(body)
    assert refused.value.kind == kind
    assert message in refused.value.message


def test_a_refusal_still_says_where_the_parser_stopped() -> None:
    with pytest.raises(NotJson) as refused:
        loads(b'{"model": "m",\n "messages": [],\n "max_tokens": x}')
    assert (refused.value.line, refused.value.column) == (3, 16)
    assert refused.value.message.startswith("Expecting value")


def test_nesting_up_to_the_bound_is_read() -> None:
    deepest = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    value = loads(deepest)
    assert jsonbody.depth(value) == MAX_DEPTH


def test_duplicate_keys_keep_the_last_value_in_the_first_place() -> None:
    assert list(loads(b'{"a": 1, "b": 2, "a": 3}').items()) == [("a", 3), ("b", 2)]


def test_lone_surrogates_are_read_as_before_for_the_route_to_refuse() -> None:
    assert loads(b'{"content": "\\ud800 alone"}') == {"content": "\ud800 alone"}
    assert loads(b'{"content": "\xed\xa0\x80 alone"}') == {"content": "\ud800 alone"}
    # read by the standard library, so the route looks for them (a body orjson read holds none)
    escaped = b'{"content": "\\ud800 alone"}'
    value, by_orjson = loads_noting_orjson(escaped)
    assert not by_orjson and lone_surrogate(value) == "\ud800 alone"
    assert loads_noting_orjson(b'{"content": "\xed\xa0\x80 alone"}')[1] is False
    assert loads_noting_orjson(b'{"content": "\\ud83d\\ude00"}') == (
        {"content": "\U0001f600"},
        True,
    )


def test_integers_past_64_bits_stay_exact_integers() -> None:
    for text in (
        b"123456789012345678901234567890",
        b"-9223372036854775809",
        b"18446744073709551616",
    ):
        assert same(loads(b"[" + text + b"]"), [int(text)])


def test_bytes_in_other_encodings_and_a_bom_are_read_as_before() -> None:
    assert loads('{"a": "é"}'.encode("utf-16")) == {"a": "é"}
    assert loads(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}


@given(
    st.dictionaries(st.text(), VALUES, max_size=4),
    st.text(max_size=5),
    st.integers(0, 40),
)
def test_the_quick_event_check_passes_only_objects_loads_takes(
    value: dict[str, Any], tail: str, cut: int
) -> None:
    text = json.dumps(value, ensure_ascii=cut % 2 == 0)
    for data in (text + tail, text[: len(text) - cut % (len(text) + 1)], text + " 1"):
        event = b"data: " + data.encode("utf-8", "surrogatepass")
        if is_plain_object(event, 6):
            assert same(loads(event[6:]), jsonbody._loads_strictly(event[6:], MAX_DEPTH))
            assert isinstance(loads(event[6:]), dict)


@given(VALUES)
@example({"content": "\ud800 alone", "n": 2**70})
@example({"f": [1e16, 1.5e-7, -0.0, 0.1]})
def test_a_parsed_document_is_written_as_the_same_json(value: Any) -> None:
    """What is sent on after parsing: the same document (floats may be written with other
    exponent digits, ``1.5e-7`` for ``1.5e-07``); bytes identical when it holds no float."""
    written = dumps_document(value)
    assert same(json.loads(written), json.loads(dumps(value)))
    if not _holds_float(value):
        assert written == dumps(value)


def _holds_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_holds_float(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_float(item) for item in value)
    return False


def test_floats_are_written_with_their_value() -> None:
    for number in (0.1, 1e16, 1e22, 1.5e-7, 5e-324, 1.7976931348623157e308, -0.0):
        assert json.loads(dumps_document([number]))[0].hex() == number.hex()
    assert not math.isnan(json.loads(dumps_document([1.0]))[0])
