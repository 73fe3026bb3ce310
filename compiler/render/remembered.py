"""Texts made before, handed out again (the edge keeps them, llmops/render_cache.py): a template's
JSON text, a ConfigMap's indented JSON. While `remembering` is entered, `remembered_text` takes a
text from what was kept when it was made from the same value, else makes it and keeps it.

A text is a pure function of the code that makes it (part of the cache's code digest) and of its
value's exact types (``True`` is not ``1``, a tuple is not a list), dict orders, strings and
numbers, which the value's `marshal` form at version 0 holds: only builtins (anything else raises,
and such a value's text is made every time), no references, no interning flags; see
compiler/emit/memo.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import marshal
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, Protocol

MARSHAL_VERSION = 0  # no references, no interning flags: the same value gives the same bytes
# A value whose exact form is larger has its text made every time, never kept: in practice the
# proxy ConfigMap's template values, whose configuration text (2.8 MB at 1,000 endpoints) any change
# to the environment changes. Hashing, keeping and reading back such a text costs about as much as
# making it again. (The emitter's memo has the same limit for objects: compiler/emit/memo.py.)
KEPT_FORM_LIMIT = 64 * 1024


class RememberedTexts(Protocol):
    """Texts made before, by `text_key`."""

    def get(self, key: bytes) -> str | None: ...

    def put(self, key: bytes, text: str) -> None: ...


_remembered: ContextVar[RememberedTexts | None] = ContextVar("remembered_texts", default=None)


@contextlib.contextmanager
def remembering(texts: RememberedTexts | None) -> Iterator[None]:
    """While entered, `remembered_text` takes texts from ``texts`` and gives them every text it
    makes (``None``: every text is made)."""
    token = _remembered.set(texts)
    try:
        yield
    finally:
        _remembered.reset(token)


def text_key(kind: str, value: Any) -> bytes | None:
    """The SHA-256 of what a text is made by (``kind``) and of its value's exact form, or None
    for a value holding a type `marshal` does not write, nested too deep to write, or whose form
    is larger than `KEPT_FORM_LIMIT` (its text is made every time: see there). ``kind`` keeps
    these keys apart from each other's and from an emitted object's (compiler/emit/memo.py)."""
    try:
        written = marshal.dumps(value, MARSHAL_VERSION)
    except ValueError:
        return None
    if len(written) > KEPT_FORM_LIMIT:
        return None
    return hashlib.sha256(b"llmops " + kind.encode() + b"\0" + written).digest()


def remembered_text(kind: str, value: Any, make: Callable[[], str]) -> str:
    """``make()``, or the text it made before from the same ``value``."""
    found = _texts_and_key(kind, value)
    if found is None:
        return make()
    texts, key = found
    text = texts.get(key)
    if text is None:
        text = make()
        texts.put(key, text)
    return text


def _texts_and_key(kind: str, value: Any) -> tuple[RememberedTexts, bytes] | None:
    """What is remembered now and ``value``'s key there, or None when nothing is remembered or
    ``value`` has no key (what it makes is made every time)."""
    texts = _remembered.get()
    key = None if texts is None else text_key(kind, value)
    return None if texts is None or key is None else (texts, key)


def _json_exact(objects: list[dict[str, Any]]) -> str | None:
    """Compact JSON text of ``objects`` when reading it back gives exactly the same value (every
    type and order, as `marshal` sees it), else None: a tuple, a non-string key or a non-finite
    float would come back different, and such objects are made every time."""
    try:
        text = json.dumps(objects, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        same = marshal.dumps(json.loads(text), MARSHAL_VERSION) == marshal.dumps(
            objects, MARSHAL_VERSION
        )
    except (TypeError, ValueError, RecursionError):
        return None
    return text if same else None


def remembered_objects(
    kind: str, value: Any, make: Callable[[], list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """``make()``, or the objects it made before from the same ``value``, read back from their
    JSON text. ``make`` must be a function of ``value`` alone (pass it nothing else): that is what
    makes the objects it made before the ones it would make now. Texts ``make`` itself would
    remember (its templates') are not kept: the objects are."""
    found = _texts_and_key(kind, value)
    if found is None:
        return make()
    texts, key = found
    text = texts.get(key)
    if text is not None:
        try:
            loaded = json.loads(text)
        except ValueError:
            loaded = None
        if isinstance(loaded, list) and all(isinstance(obj, dict) for obj in loaded):
            return loaded
    with remembering(None):
        objects = make()
    text = _json_exact(objects)
    if text is not None:
        texts.put(key, text)
    return objects
