"""Bounded, strict JSON for what llmops reads from outside: dataset sample files (validate and the
trainer read them alike), answers and stream events from the proxy, objects from the Kubernetes
API, the trainer's job files. Pure (no I/O), so the core and the edges share it.

Python's `json` parser has no bound of its own: text nested a few thousand levels deep ends in a
RecursionError (a traceback, not a message), an integer of 5,000 digits in a ValueError that is not
a JSONDecodeError, and `NaN`, `Infinity` or `1e999` are read as floats no other JSON reader
accepts. `loads` refuses each of these with one `JsonRefused` that says why and where. Nesting is
measured on the text, before the parser recurses into it.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

DEFAULT_MAX_DEPTH = 64
MAX_INTEGER_DIGITS = 4300  # Python's default int-string limit, fixed so the verdict does not vary
# A string (closed or running to the end) or one bracket: brackets inside strings do not nest.
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonRefused(ValueError):
    """``message`` says why, for people; ``line`` and ``column`` (1-based) where, when known;
    ``token`` the number refused, to find it in the text."""

    def __init__(
        self, message: str, line: int | None = None, column: int | None = None, token: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.token = token


def _shortened(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _no_constant(name: str) -> Any:
    raise JsonRefused(f"`{name}` is not a JSON number (JSON has no NaN or Infinity)", token=name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRefused(f"the number {_shortened(text)} is too large for a double", token=text)
    return value


def _bounded_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INTEGER_DIGITS:
        raise JsonRefused(
            f"an integer of {digits} digits (more than {MAX_INTEGER_DIGITS} is not a number "
            "JSON readers agree on)",
            token=text,
        )
    return int(text)


# One decoder for every call: `json.loads` with parse hooks builds a new one each time, which was
# most of the cost of a dataset sample file's short lines (millions of them in 16 MiB).
_DECODER = json.JSONDecoder(
    parse_constant=_no_constant, parse_float=_finite_float, parse_int=_bounded_int
)


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _token_position(text: str, token: str) -> tuple[int, int] | tuple[None, None]:
    """Where ``token`` (a number or constant the parser refused) first stands outside a string."""
    pattern = re.compile(
        r'"[^"\\]*(?:\\.[^"\\]*)*"|(?<![\w.])(' + re.escape(token) + r")(?![\w.])", re.DOTALL
    )
    for match in pattern.finditer(text):
        if match.group(1) is not None:
            return _position(text, match.start(1))
    return None, None


def _has_lone_surrogate(value: Any) -> bool:
    """Whether a parsed value holds a string (key or value) with an unpaired UTF-16 surrogate."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _too_deep_at(text: str, max_depth: int) -> int | None:
    """The offset of the first bracket nested deeper than ``max_depth``, if there is one. Cheap for
    text with few brackets: only text holding more than ``max_depth`` of them is scanned."""
    if text.count("[") + text.count("{") <= max_depth:
        return None
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                return match.start()
        elif token in "]}":
            depth -= 1
    return None


def loads(
    data: bytes | str, *, max_depth: int = DEFAULT_MAX_DEPTH, max_bytes: int | None = None
) -> Any:
    """Parse strict JSON: UTF-8, at most ``max_bytes`` long (when given), arrays and objects nested
    at most ``max_depth`` levels, finite numbers only, strings of whole characters.
    **Raises:** ``JsonRefused`` otherwise."""
    if max_bytes is not None and len(data) > max_bytes:
        raise JsonRefused(f"{len(data):,} bytes, more than the {max_bytes:,} allowed")
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise JsonRefused(f"not UTF-8 text (byte {data[error.start]:#04x})") from None
    else:
        text = data
    too_deep = f"arrays and objects nested more than {max_depth} levels deep"
    offset = _too_deep_at(text, max_depth)
    if offset is not None:
        raise JsonRefused(too_deep, *_position(text, offset))
    try:
        if text.startswith("\ufeff"):  # what `json.loads` refuses before decoding
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        value = _DECODER.decode(text)
    except JsonRefused as refused:
        if refused.token and refused.line is None:
            refused.line, refused.column = _token_position(text, refused.token)
        raise
    except json.JSONDecodeError as error:
        # the standard library's "Invalid control character at" ends where it adds the position
        reason = error.msg.removesuffix(" at")
        raise JsonRefused(f"not valid JSON: {reason}", error.lineno, error.colno) from None
    except RecursionError:  # not reached after the scan above; kept so no traceback can escape
        raise JsonRefused(too_deep) from None
    except ValueError as error:  # int() under a lower PYTHONINTMAXSTRDIGITS than ours
        raise JsonRefused(str(error)[:200]) from None
    # A surrogate can only come from a `\u` escape: look for one before walking the value.
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        raise JsonRefused("a string holds a lone UTF-16 surrogate, which is not a character")
    return value
