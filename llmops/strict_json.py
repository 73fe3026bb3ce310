"""Bounded, strict JSON for what llmops reads from outside: answers and stream events from the
proxy, objects from the Kubernetes API, the trainer's dataset and job files.

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


class JsonRefused(ValueError):
    """``message`` says why, for people; ``line`` and ``column`` (1-based) where, when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def _shortened(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _no_constant(name: str) -> Any:
    raise JsonRefused(f"`{name}` is not a JSON number (JSON has no NaN or Infinity)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRefused(f"the number {_shortened(text)} is too large for a double")
    return value


def _bounded_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INTEGER_DIGITS:
        raise JsonRefused(
            f"an integer of {digits} digits (more than {MAX_INTEGER_DIGITS} is not a number "
            "JSON readers agree on)"
        )
    return int(text)


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


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
    at most ``max_depth`` levels, finite numbers only. **Raises:** ``JsonRefused`` otherwise."""
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
        return json.loads(
            text, parse_constant=_no_constant, parse_float=_finite_float, parse_int=_bounded_int
        )
    except JsonRefused:
        raise
    except json.JSONDecodeError as error:
        raise JsonRefused(f"not valid JSON: {error.msg}", error.lineno, error.colno) from None
    except RecursionError:  # not reached after the scan above; kept so no traceback can escape
        raise JsonRefused(too_deep) from None
    except ValueError as error:  # int() under a lower PYTHONINTMAXSTRDIGITS than ours
        raise JsonRefused(str(error)[:200]) from None
