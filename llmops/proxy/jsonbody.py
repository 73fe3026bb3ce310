"""Strict JSON for everything the proxy parses: request bodies and model-server answers.

Python's `json` accepts more than JSON: `NaN`, `Infinity` and `-Infinity`, and numbers such as
`1e999` that become infinite floats. Sent on, such a body is not JSON to the model server (a KServe
server answered it with errors that broke the following requests on the same connection); read from
a model server, it would make the proxy write invalid JSON to its caller. Nesting is bounded too: a
body nested thousands of levels deep exhausts Python's recursion in the parser or in any code
walking it.

Most bodies are parsed by orjson (in C, several times faster), which refuses everything the rules
below refuse and more; whatever it refuses, and every body with a run of 19 or more digits (orjson
reads an integer past 64 bits as a float), is parsed again by the standard library's parser, which
decides and says why. So the values accepted and the reasons given are the standard library's.
"""

from __future__ import annotations

import json
import math
from typing import Any, Final

import orjson

# orjson's parser, held here: compiled, `orjson.loads` is an attribute lookup on the module at
# every call
_ORJSON_LOADS: Final = orjson.loads
MAX_DEPTH: Final = 64  # OpenAI bodies nest about 6 levels; tool parameter schemas a dozen or two


class NotJson(ValueError):
    """``message`` says why, for people; ``kind`` is `invalid`, `non_finite`, `too_deep` or
    `not_utf8` (``loads_utf8``); ``line`` and ``column`` where the parser stopped, when it says."""

    def __init__(self, kind: str, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column


def _no_constant(name: str) -> Any:
    raise NotJson("non_finite", f"{name} is not a JSON number (JSON has no NaN or Infinity)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NotJson("non_finite", f"the number {text[:40]} is too large for a double")
    return value


def depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deeply arrays and objects nest in ``value`` (a scalar: 0), counted up to ``limit + 1`` at
    most, without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        stack.extend((child, level) for child in children if isinstance(child, (dict, list)))
    return deepest


# One decoder for every call: `json.loads` with parse hooks builds a new one each time, which cost
# a tenth of parsing an ordinary request body.
_DECODER: Final = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite_float)


# Every digit made a 0, every `[` and `{` a `[`, everything else a space: a run of 19 zeros in the
# result is a number orjson may read differently (an integer past 64 bits becomes a float), or text
# like one; the `[`s bound how deeply the text can nest.
_MARKS: Final = bytes(
    0x30 if 0x30 <= byte <= 0x39 else 0x5B if byte in b"[{" else 0x20 for byte in range(256)
)
_LONG_DIGIT_RUN: Final = "0" * 19
_UNDECIDED: Final = object()


def _marks(data: bytes | bytearray | memoryview) -> tuple[bool, int]:
    """Whether ``data`` holds 19 digits in a row, and how many `[` and `{` it holds: one pass in C
    for both, then a search and a count (a regular expression took six times as long as orjson's
    whole parse; counting each bracket on its own cost a pass each)."""
    raw: bytes = data if isinstance(data, bytes) else bytes(data)  # bytes: no copy made
    marked = raw.translate(_MARKS)
    # searched and counted as text: compiled, `str.find` and `str.count` are direct calls into
    # CPython, where the `bytes` methods go through its argument parser (about 1,800 instructions
    # a call); and not with `in` on bytes, which first tries the needle as an integer, making and
    # clearing a TypeError
    text = marked.decode("ascii")
    return text.find(_LONG_DIGIT_RUN) >= 0, text.count("[")


def _quick(data: bytes | bytearray | memoryview, max_depth: int = MAX_DEPTH) -> Any:
    """``data`` parsed by orjson, or ``_UNDECIDED`` when orjson refuses it or might read a number
    differently from the standard library. **Raises:** ``NotJson`` when it nests deeper than
    ``max_depth``."""
    long_run, brackets = _marks(data)
    if long_run:
        return _UNDECIDED
    try:
        value = _ORJSON_LOADS(data)
    except orjson.JSONDecodeError:
        return _UNDECIDED
    # every level of nesting opens with a `[` or `{`: text holding at most ``max_depth`` of them
    # cannot nest deeper, which spares walking the value (a third of an ordinary body's parse)
    if brackets > max_depth and depth(value, max_depth) > max_depth:
        raise NotJson("too_deep", _too_deep(max_depth))
    return value


def loads(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse strict JSON nested at most ``max_depth`` levels. **Raises:** ``NotJson`` for anything
    else, with the reason."""
    if not isinstance(data, str):
        value = _quick(data, max_depth)
        if value is not _UNDECIDED:
            return value
    return _loads_strictly(data, max_depth)


def loads_noting_orjson(data: bytes, max_depth: int = MAX_DEPTH) -> tuple[Any, bool]:
    """``loads``, and whether orjson read ``data``. orjson refuses every UTF-16 surrogate escape
    that is not half of a pair, and every byte sequence that is not UTF-8, so no string of a value
    it read holds a lone surrogate: a request body it read needs no search for one."""
    value = _quick(data, max_depth)
    if value is not _UNDECIDED:
        return value, True
    return _loads_strictly(data, max_depth), False


def loads_utf8(data: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """``loads`` of JSON text in UTF-8, as a model server's answer and each event of its stream
    must be, the proxy passing their bytes on as received (RFC 8259 asks UTF-8 of JSON between
    systems). The standard library's parser also takes UTF-16 and UTF-32, and a surrogate written
    as its bytes (ED A0 80): **Raises:** ``NotJson`` for those too. orjson reads UTF-8 alone."""
    value, read_by_orjson = loads_noting_orjson(data, max_depth)
    if not read_by_orjson:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise NotJson("not_utf8", "it is not UTF-8 text") from None
    return value


def _loads_strictly(data: bytes | str, max_depth: int) -> Any:
    """``loads`` by the standard library's parser alone: it decides every body, and says why it
    refuses one (with the line and column)."""
    try:
        if isinstance(data, str):  # what `json.loads` checks before decoding
            if data.startswith("\ufeff"):
                message = "Unexpected UTF-8 BOM (decode using utf-8-sig)"
                raise json.JSONDecodeError(message, data, 0)
            text = data
        elif data[:1] == b"{" and data[1:2] != b"\x00":  # what `detect_encoding` says: UTF-8
            text = data.decode("utf-8", "surrogatepass")
        else:  # as `json.loads` reads bytes: UTF-8, -16 or -32, told apart by their first bytes
            text = data.decode(json.detect_encoding(data), "surrogatepass")
        value = _DECODER.decode(text)
    except NotJson:
        raise
    except RecursionError:
        raise NotJson("too_deep", _too_deep(max_depth)) from None
    except UnicodeDecodeError:
        raise NotJson("invalid", "it is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise NotJson("invalid", str(error)[:200], error.lineno, error.colno) from None
    except ValueError as limit:  # the int-string length limit
        raise NotJson("invalid", str(limit)[:200]) from None
    if _may_nest_deeper(data, max_depth) and depth(value, max_depth) > max_depth:
        raise NotJson("too_deep", _too_deep(max_depth))
    return value


def is_plain_object(data: bytes, start: int) -> bool:
    """Whether ``data`` from ``start`` to its end is one strict JSON object nested at most
    ``MAX_DEPTH`` levels: what ``loads`` accepts, told for the common case in one call to orjson.
    False means "not told": ``loads`` decides, and says why. A stream checks each of its events,
    and the work around ``loads``'s parse cost more than the parse."""
    part = data[start:]
    long_run, brackets = _marks(part)
    if long_run or brackets > MAX_DEPTH:
        return False
    try:
        return type(_ORJSON_LOADS(part)) is dict
    except orjson.JSONDecodeError:
        return False


def decided_by_orjson(data: bytes | bytearray) -> bool:
    """Whether, for every part of ``data``, ``is_plain_object`` would ask only orjson: no run of
    19 digits and at most ``MAX_DEPTH`` brackets in the whole means none in any part. A stream's
    events mostly arrive several at once: checked once for all of them rather than per event."""
    long_run, brackets = _marks(data)
    return brackets <= MAX_DEPTH and not long_run


def orjson_object(data: bytes | bytearray) -> bool:
    """Whether orjson reads ``data`` as one JSON object; with ``decided_by_orjson`` true of it (or
    of text holding it), what ``is_plain_object`` says."""
    try:
        return type(_ORJSON_LOADS(data)) is dict
    except orjson.JSONDecodeError:
        return False


def _too_deep(max_depth: int) -> str:
    return f"arrays and objects nest more than {max_depth} levels deep"


def _may_nest_deeper(data: bytes | str, max_depth: int) -> bool:
    """Every level of nesting opens with a `[` or `{`, so text holding at most ``max_depth`` of them
    cannot nest deeper: counting them (in C) spares walking the parsed value, which took a third of
    the parse time of an ordinary request body or stream event."""
    if isinstance(data, str):
        return data.count("[") + data.count("{") > max_depth
    return data.count(b"[") + data.count(b"{") > max_depth
