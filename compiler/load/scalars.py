"""YAML 1.2 core-schema scalar resolution, and the YAML 1.1 readings it differs from."""

from __future__ import annotations

import re
from typing import Any

NULLS = frozenset({"", "~", "null", "Null", "NULL"})
TRUES = frozenset({"true", "True", "TRUE"})
FALSES = frozenset({"false", "False", "FALSE"})
YAML11_BOOLEANS = frozenset(
    {"yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"}
)

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
        if _INT10.fullmatch(text):
            return int(text)
        if _INT8.fullmatch(text):
            return int(text[2:], 8)
        if _INT16.fullmatch(text):
            return int(text[2:], 16)
        if _FLOAT.fullmatch(text):
            return float(text)
        if _INF.fullmatch(text):
            return float("-inf") if text[0] == "-" else float("inf")
        if _NAN.fullmatch(text):
            return float("nan")
    return text


def yaml11_number_reading(text: str) -> str | None:
    """Say how YAML 1.1 would read a plain scalar differently as a number, or None if it would not."""
    if _YAML11_LEADING_ZERO.fullmatch(text):
        return "an octal number in YAML 1.1 but a decimal number in YAML 1.2"
    if _YAML11_BINARY.fullmatch(text):
        return "a binary number in YAML 1.1 but a string in YAML 1.2"
    if "_" in text and _YAML11_UNDERSCORE.fullmatch(text) and any(c.isdigit() for c in text):
        return "a number in YAML 1.1 (underscores are ignored) but a string in YAML 1.2"
    if ":" in text and _YAML11_SEXAGESIMAL.fullmatch(text):
        return "a base-60 number in YAML 1.1 but a string in YAML 1.2"
    return None
