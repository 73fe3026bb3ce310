"""YAML 1.2 core-schema scalar resolution, and the YAML 1.1 readings it differs from."""

from __future__ import annotations

import re
from typing import Any

from compiler.records import record

NULLS = frozenset({"", "~", "null", "Null", "NULL"})
TRUES = frozenset({"true", "True", "TRUE"})
FALSES = frozenset({"false", "False", "FALSE"})
YAML11_BOOLEANS = frozenset(
    {"yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"}
)

# Longer integer literals are never converted: no manifest field accepts a number of this size, and
# converting (and printing) a long integer costs time quadratic in its length; Python refuses beyond
# 4,300 decimal digits anyway.
MAX_INTEGER_LENGTH = 100


@record(eq=False, repr=False, slots=True)
class OversizedInteger:
    """An integer literal longer than MAX_INTEGER_LENGTH characters, kept as written (the loader
    reports it)."""

    text: str


_INT10 = re.compile(r"[-+]?[0-9]+")
_INT8 = re.compile(r"0o[0-7]+")
_INT16 = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)")
_NAN = re.compile(r"\.(nan|NaN|NAN)")

_YAML11_LEADING_ZERO = re.compile(r"[-+]?0[0-9]+")
_YAML11_UNDERSCORE = re.compile(r"[-+]?(0b[01_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*(\.[0-9_]*)?)")
_YAML11_SEXAGESIMAL = re.compile(r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?")
_YAML11_BINARY = re.compile(r"[-+]?0b[01_]+")


def resolve_plain_scalar(text: str) -> Any:
    """Return the value YAML 1.2's core schema gives an unquoted scalar."""
    if text in NULLS:
        return None
    if text in TRUES:
        return True
    if text in FALSES:
        return False
    first = text[0]
    if first.isdigit() or first in "+-.":
        integer = resolve_integer(text)
        if integer is not None:
            return integer
        number = resolve_float(text)
        if number is not None:
            return number
    return text


def resolve_integer(text: str) -> int | OversizedInteger | None:
    """The integer a YAML 1.2 core-schema integer literal denotes (None if ``text`` is not one)."""
    if _INT10.fullmatch(text):
        base, digits = 10, text
    elif _INT8.fullmatch(text):
        base, digits = 8, text[2:]
    elif _INT16.fullmatch(text):
        base, digits = 16, text[2:]
    else:
        return None
    if len(text) > MAX_INTEGER_LENGTH:
        return OversizedInteger(text)
    return int(digits, base)


def resolve_float(text: str) -> float | None:
    """The float a YAML 1.2 core-schema float (or integer) literal denotes (None if ``text`` is not
    one)."""
    if _FLOAT.fullmatch(text):
        return float(text)
    if _INF.fullmatch(text):
        return float("-inf") if text[0] == "-" else float("inf")
    if _NAN.fullmatch(text):
        return float("nan")
    return None


def yaml11_number_reading(text: str) -> str | None:
    """Say how YAML 1.1 would read a plain scalar differently as a number, or None if it would
    not."""
    if _YAML11_LEADING_ZERO.fullmatch(text):
        return "an octal number in YAML 1.1 but a decimal number in YAML 1.2"
    if _YAML11_BINARY.fullmatch(text):
        return "a binary number in YAML 1.1 but a string in YAML 1.2"
    if "_" in text and _YAML11_UNDERSCORE.fullmatch(text) and any(c.isdigit() for c in text):
        return "a number in YAML 1.1 (underscores are ignored) but a string in YAML 1.2"
    if ":" in text and _YAML11_SEXAGESIMAL.fullmatch(text):
        return "a base-60 number in YAML 1.1 but a string in YAML 1.2"
    return None
