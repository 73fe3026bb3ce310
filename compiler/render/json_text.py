"""JSON text for ConfigMaps: exactly `json.dumps(value, indent=2, ensure_ascii=False,
allow_nan=False)`, faster.

With an indent, the standard library encodes in Python, generically (~20 µs for a small training
configuration; an estate writes two per training job and environment). Rendered values are plain
dicts, lists, strings, integers, finite floats, booleans and None; for those this writes the same
text directly, and anything else (other types, non-string keys, a cycle) goes to `json.dumps`
itself. NaN and infinity are not JSON (Python's default `NaN` output is refused by every strict
reader): they raise, never get written.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring  # the C function when available, as json.dumps uses it
from typing import Any

from compiler.errors import UnrepresentableValue

_FLOAT_LIMIT = float("inf")


class _Unsupported(Exception):
    """A value this writer does not handle: `json.dumps` writes the whole text instead."""


def indented_json(value: Any) -> str:
    """`json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)`; raises
    ``UnrepresentableValue`` for NaN and infinity."""
    out: list[str] = []
    try:
        _write(value, "\n", out)
    except (_Unsupported, RecursionError):
        try:
            return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)
        except ValueError as error:
            if "Out of range float" in str(error):
                raise UnrepresentableValue(
                    f"NaN or infinity cannot be written as JSON: {error}"
                ) from None
            raise
    return "".join(out)


def _write(value: Any, newline: str, out: list[str]) -> None:
    """Append ``value``; ``newline`` is a line break plus the indentation of the line it is on."""
    kind = value.__class__
    if kind is str:
        out.append(encode_basestring(value))
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is dict:
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        separator = "{" + inner
        for key, item in value.items():
            if key.__class__ is not str:
                raise _Unsupported
            out.append(separator)
            out.append(encode_basestring(key))
            out.append(": ")
            _write(item, inner, out)
            separator = "," + inner
        out.append(newline + "}")
    elif kind is list:
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        separator = "[" + inner
        for item in value:
            out.append(separator)
            _write(item, inner, out)
            separator = "," + inner
        out.append(newline + "]")
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif kind is float and -_FLOAT_LIMIT < value < _FLOAT_LIMIT:
        out.append(float.__repr__(value))
    else:
        raise _Unsupported
