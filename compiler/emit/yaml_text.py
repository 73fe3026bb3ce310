"""Deterministic YAML: the only place that decides the bytes of rendered output.

Objects are plain dicts from the render backends. Strings are written plain only when every YAML
reader (1.1 as PyYAML, kubectl and Go tooling read it, and 1.2) reads them back as the same string;
otherwise they are double-quoted with escapes, or written as literal blocks when that is provably
safe. No user text can therefore change the structure of a document. PyYAML's dumper would do the
same job but costs about 0.3 ms per object, too slow for estates with thousands of objects.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

import yaml

from compiler.errors import UnrepresentableValue
from compiler.load.scalars import resolve_plain_scalar

_PLAIN = re.compile(r"^[A-Za-z0-9_/][A-Za-z0-9_./-]*\Z")
# What YAML may hold unescaped: printable characters, minus those YAML 1.1 treats as line breaks.
# Of ASCII, that leaves the control characters; the whole class, with its Unicode ranges, costs 5
# ms to compile, a fortieth of a small render, so it is compiled when a text first needs it.
_ASCII_NEEDS_ESCAPE = re.compile("[^\t\n\x20-\x7e]")


@functools.cache
def _unicode_needs_escape() -> re.Pattern[str]:
    return re.compile(
        "[^\t\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
    )


def _needs_escape(text: str) -> re.Pattern[str]:
    """The pattern of the characters of ``text`` that must be escaped."""
    return _ASCII_NEEDS_ESCAPE if text.isascii() else _unicode_needs_escape()


# The ASCII characters `_ASCII_NEEDS_ESCAPE` leaves alone, as bytes to delete: an ASCII text needs
# an escape exactly when its bytes hold anything else. Deleting them is a tenth of the regular
# expression's search (1 ms against 10 ms for the 2.5 MB proxy.json of a thousand endpoints).
_ASCII_UNESCAPED = b"\t\n" + bytes(range(0x20, 0x7F))


def _holds_escapes(text: str) -> bool:
    """Whether a character of ``text`` must be escaped (`_needs_escape` finds one)."""
    if text.isascii():
        return bool(text.encode("ascii").translate(None, _ASCII_UNESCAPED))
    return _unicode_needs_escape().search(text) is not None


_IMPLICIT_11 = yaml.resolver.Resolver()
_STR_TAG = "tag:yaml.org,2002:str"

# Kubernetes convention: the envelope first, then what the object is.
_TOP_KEYS = ("apiVersion", "kind", "metadata", "immutable", "spec", "data", "stringData", "type")


# go-yaml v2 (kubectl, Argo CD) reads these plain words as booleans, beyond YAML 1.1's list.
_GO_YAML_BOOLEANS = frozenset({"y", "Y", "n", "N"})
MAX_IMPLICIT_KEY = 1000  # YAML limits implicit keys to 1024 characters; longer ones use `? key`


def _go_yaml_reads_a_number(text: str) -> bool:
    """go-yaml v2 drops underscores and parses with Go's base-0 integers (0x, 0X, 0o, 0B, leading-0
    octal) and floats; anything that starts like a number and parses so is not a string to it."""
    if text[0] not in "0123456789+-.":
        return False
    digits = text.replace("_", "")
    try:
        int(digits, 0)
        return True
    except ValueError:
        pass
    if digits.lstrip("+-").isdigit():
        return True  # leading-zero octal such as 0755
    try:
        float(digits)
        return True
    except ValueError:
        return False


def is_plain_safe(text: str) -> bool:
    """True when `text` reads back as this same string unquoted: YAML 1.1, 1.2 and go-yaml v2
    alike (remembered for short texts only: see `_CACHED_TEXT_LIMIT`)."""
    if len(text) <= _CACHED_TEXT_LIMIT:
        return _is_plain_safe_remembered(text)
    return _is_plain_safe(text)


def _is_plain_safe(text: str) -> bool:
    if not _PLAIN.fullmatch(text) or text[-1] in "./-":
        return False
    if text in _GO_YAML_BOOLEANS or _go_yaml_reads_a_number(text):
        return False
    if resolve_plain_scalar(text) != text:
        return False
    tag: str = _IMPLICIT_11.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return tag == _STR_TAG


_is_plain_safe_remembered = functools.lru_cache(maxsize=65536)(_is_plain_safe)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def quote(text: str) -> str:
    """A double-quoted YAML scalar (JSON escapes are YAML escapes; the rest are escaped too)."""
    written = json.dumps(text, ensure_ascii=False)
    return _needs_escape(written).sub(_escape, written)


def _literal_block(text: str, indent: str) -> str | None:
    """`|` / `|-` block for readable multi-line text, only when it reads back exactly."""
    if "\n" not in text or text.startswith((" ", "\n")) or text.endswith("\n\n"):
        return None
    # a tab, a carriage return, or a space ending a line, which a block scalar would not keep (the
    # four searches of the text cost a fiftieth of one regular expression's alternation)
    if "\t" in text or "\r" in text or " \n" in text or text.endswith(" "):
        return None
    if _holds_escapes(text):
        return None
    body, chomp = (text[:-1], "|") if text.endswith("\n") else (text, "|-")
    if "\n\n" in body:  # an empty line stays empty, without the indentation
        lines = "\n".join(f"{indent}{line}" if line else "" for line in body.split("\n"))
    else:  # every line indented: one replace, not a string per line (90,000 in a large proxy.json)
        lines = indent + body.replace("\n", "\n" + indent)
    return f"{chomp}\n{lines}"


def scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise UnrepresentableValue(
                f"{value} cannot be written into a Kubernetes object (NaN and infinity are "
                "no number of anything)"
            )
        text = repr(value)
        if "e" in text and "." not in text:  # YAML 1.1 floats need a dot: 1e-05 -> 1.0e-05
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    if isinstance(value, str):
        return value if value and is_plain_safe(value) else quote(value)
    raise TypeError(f"cannot emit {type(value).__name__}")


def _key(key: str) -> str:
    return key if key and is_plain_safe(key) else quote(key)


def _emit_mapping(mapping: dict[str, Any], indent: str, out: list[str]) -> None:
    for key, value in mapping.items():
        written = _key(key)
        if len(written) > MAX_IMPLICIT_KEY:
            out.append(f"{indent}? {written}\n")
            _emit_entry(f"{indent}:", value, indent, out)
        else:
            _emit_entry(f"{indent}{written}:", value, indent, out)


def _emit_entry(prefix: str, value: Any, indent: str, out: list[str]) -> None:
    """`prefix` is `key:` or `-`; nested collections go on the following lines."""
    child = indent + "  "
    if isinstance(value, dict):
        if not value:
            out.append(f"{prefix} {{}}\n")
        else:
            out.append(f"{prefix}\n")
            _emit_mapping(value, child, out)
    elif isinstance(value, list):
        if not value:
            out.append(f"{prefix} []\n")
        else:
            out.append(f"{prefix}\n")
            _emit_sequence(value, child, out)
    elif (
        isinstance(value, str)
        and "\n" in value
        and (block := _literal_block(value, child)) is not None
    ):
        out.append(f"{prefix} {block}\n")
    else:
        out.append(f"{prefix} {scalar(value)}\n")


def _emit_sequence(items: list[Any], indent: str, out: list[str]) -> None:
    for item in items:
        if isinstance(item, dict) and item:
            first = True
            for key, value in item.items():
                lead = f"{indent}- " if first else f"{indent}  "
                _emit_entry(f"{lead}{_key(key)}:", value, indent + "  ", out)
                first = False
        else:
            _emit_entry(f"{indent}-", item, indent, out)


# -- the same bytes, faster
# --------------------------------------------------------------------------- `_emit_mapping`,
# `_emit_entry` and `_emit_sequence` above define the output. The functions below write exactly the
# same bytes (tests/compiler/test_emit_fast.py compares them) for what rendered objects are made of:
# exact dicts, lists, strs and ints, with how a string or a key is written looked up by its text.
# Anything else, at any depth, is handed to `_emit_entry`.

_STRINGS: dict[str, str] = {}  # text -> `scalar(text)`
_KEYS: dict[str, str] = {}  # key -> `_key(key)`
# Each bounded in entries and in their length: a long-running process (the warm server) renders
# many estates, and kept every changed annotation of a hundred kilobytes.
_CACHE_LIMIT = 1 << 16
_CACHED_TEXT_LIMIT = 128  # characters


def _string(value: str) -> str:
    written = _STRINGS.get(value)
    if written is None:
        written = scalar(value)
        if len(_STRINGS) < _CACHE_LIMIT and len(value) <= _CACHED_TEXT_LIMIT:
            _STRINGS[value] = written
    return written


def _fast_mapping(mapping: dict[str, Any], indent: str, out: list[str], item: bool) -> None:
    """`_emit_mapping(mapping, indent, out)`; or, with ``item``, the entries of a non-empty mapping
    that is an item of a list at ``indent[:-2]`` (the first on the `- ` line), as `_emit_sequence`
    writes them."""
    append = out.append
    known_keys, known_strings = _KEYS, _STRINGS
    child = indent + "  "
    lead = f"{indent[:-2]}- " if item else indent
    for key, value in mapping.items():
        written_key = known_keys.get(key)  # only str keys short enough for `key:` are remembered
        if written_key is None:
            written_key = _key(key)
            if len(written_key) > MAX_IMPLICIT_KEY:
                if not item:  # as `_emit_mapping` writes a long key
                    append(f"{indent}? {written_key}\n")
                    _emit_entry(f"{indent}:", value, indent, out)
                    lead = indent
                    continue
            elif (
                key.__class__ is str
                and len(known_keys) < _CACHE_LIMIT
                and len(key) <= _CACHED_TEXT_LIMIT
            ):
                known_keys[key] = written_key
        kind = value.__class__
        if kind is str:
            if "\n" in value and (block := _literal_block(value, child)) is not None:
                append(f"{lead}{written_key}: {block}\n")
            else:
                append(f"{lead}{written_key}: {known_strings.get(value) or _string(value)}\n")
        elif kind is dict:
            if value:
                append(f"{lead}{written_key}:\n")
                _fast_mapping(value, child, out, False)
            else:
                append(f"{lead}{written_key}: {{}}\n")
        elif kind is int:
            append(f"{lead}{written_key}: {int.__repr__(value)}\n")
        elif kind is list:
            if value:
                append(f"{lead}{written_key}:\n")
                _fast_sequence(value, child, out)
            else:
                append(f"{lead}{written_key}: []\n")
        else:
            _emit_entry(f"{lead}{written_key}:", value, indent, out)
        lead = indent


def _fast_sequence(items: list[Any], indent: str, out: list[str]) -> None:
    """`_emit_sequence(items, indent, out)`."""
    append = out.append
    item_indent = indent + "  "
    for item in items:
        kind = item.__class__
        if kind is str and "\n" not in item:
            append(f"{indent}- {_string(item)}\n")
        elif kind is dict and item:
            _fast_mapping(item, item_indent, out, True)
        else:
            _emit_sequence([item], indent, out)


def _ordered(obj: dict[str, Any]) -> dict[str, Any]:
    head = {key: obj[key] for key in _TOP_KEYS if key in obj}
    return {**head, **{key: value for key, value in obj.items() if key not in head}}


def emit_document(obj: dict[str, Any]) -> str:
    """One Kubernetes object as block YAML, ending in a newline."""
    out: list[str] = []
    _fast_mapping(_ordered(obj), "", out, False)
    return "".join(out)


def emit_stream(
    objects: Iterable[dict[str, Any]], emit: Callable[[dict[str, Any]], str] = emit_document
) -> str:
    """A multi-document stream; every document starts with `---` (``emit``: `emit_document`, or
    one that hands out texts emitted before)."""
    return "".join(f"---\n{emit(obj)}" for obj in objects)
