"""Texts made before, handed out again (the edge keeps them, llmops/render_cache.py): a template's
JSON text, a ConfigMap's indented JSON. While `remembering` is entered, `remembered_text` takes a
text from what was kept when it was made from the same value, else makes it and keeps it.

A text is a pure function of the code that makes it (part of the cache's code digest) and of its
value's exact types (``True`` is not ``1``, a tuple is not a list), dict orders, strings and
numbers, which the value's `marshal` form at version 0 holds: only builtins (anything else raises,
and such a value's text is made every time), no references, no interning flags; see
compiler/emit/memo.py.

An object parsed from such a text is a function of the text's key, so its emitted YAML is too:
`Origins` notes each object a render took from a keyed text, and the emitter knows it by that
key without reading the object again (`marshal` and SHA-256 of 4,000 objects of a thousand
endpoints: about 0.04 s of a change to one of them). That holds only while nothing changes the
object between its parse and its emission: renderers build a new object instead of editing one a
template made (tests/compiler/render/test_template_objects_unchanged.py holds them to it).

Texts kept by a store that also keeps what was parsed from them (`ParsedTexts`: the warm server's)
are parsed once: the same objects are handed out again while the store keeps them. Parsing the
3,000 JSON texts of a thousand endpoints' objects was about 0.05 s of each change to one of them.
That too holds only because nothing changes an object a template made.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import marshal
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, Protocol, runtime_checkable

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


@runtime_checkable
class ParsedTexts(Protocol):
    """A `RememberedTexts` that also keeps the values parsed from its texts, by the text's key."""

    def parsed(self, key: bytes) -> Any | None:
        """What was parsed from the text kept for ``key``, while the store holds that text."""
        ...

    def keep_parsed(self, key: bytes, value: Any, size: int) -> None:
        """Keep ``value``, parsed from the text of ``key`` (``size`` characters long)."""
        ...


class Origins:
    """Objects parsed from keyed texts during a render, each with the key of its emitted text
    (`origin_key`). An object is known by identity, and kept here so its identity stays its own
    while the render's objects are emitted."""

    def __init__(self) -> None:
        self._known: dict[int, tuple[object, bytes]] = {}

    def note(self, obj: object, key: bytes) -> None:
        self._known[id(obj)] = (obj, key)

    def key_of(self, obj: object) -> bytes | None:
        """The key of ``obj``'s emitted text, or None for an object not parsed from a keyed
        text (the emitter keys it by its value)."""
        found = self._known.get(id(obj))
        return found[1] if found is not None and found[0] is obj else None


_remembered: ContextVar[RememberedTexts | None] = ContextVar("remembered_texts", default=None)
_origins: ContextVar[Origins | None] = ContextVar("remembered_origins", default=None)
_parsed: ContextVar[ParsedTexts | None] = ContextVar("remembered_parsed", default=None)


@contextlib.contextmanager
def remembering(texts: RememberedTexts | None, origins: Origins | None = None) -> Iterator[None]:
    """While entered, `remembered_text` takes texts from ``texts`` and gives them every text it
    makes (``None``: every text is made); ``origins`` learns the objects parsed from them."""
    token = _remembered.set(texts)
    origins_token = _origins.set(origins if texts is not None else None)
    parsed_token = _parsed.set(texts if isinstance(texts, ParsedTexts) else None)
    try:
        yield
    finally:
        _parsed.reset(parsed_token)
        _origins.reset(origins_token)
        _remembered.reset(token)


def origin_key(text_key: bytes, index: int) -> bytes:
    """The key of the emitted YAML of the ``index``-th object parsed from the text keyed
    ``text_key``: apart from `text_key`'s keys (another prefix) and from the emitter's own (the
    SHA-256 of an object's `marshal` form, which begins with ``{``)."""
    return hashlib.sha256(b"llmops object " + text_key + index.to_bytes(8, "big")).digest()


def _note_origins(objects: list[Any], key: bytes) -> None:
    origins = _origins.get()
    if origins is not None:
        for index, obj in enumerate(objects):
            origins.note(obj, origin_key(key, index))


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


def remembered_document(kind: str, value: Any, make: Callable[[], str]) -> dict[str, Any]:
    """The JSON object ``make()`` writes (or wrote before from the same ``value``), parsed; noted
    in the render's `Origins` by its text's key. Nothing may change it afterwards (see the module's
    docstring)."""
    found = _texts_and_key(kind, value)
    if found is None:
        made: dict[str, Any] = json.loads(make())
        return made
    texts, key = found
    parsed = _parsed.get()
    obj = None if parsed is None else parsed.parsed(key)
    if obj.__class__ is not dict:
        text = texts.get(key)
        if text is None:
            text = make()
            texts.put(key, text)
        obj = json.loads(text)
        if parsed is not None:
            parsed.keep_parsed(key, obj, len(text))
    _note_origins([obj], key)
    return obj


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
    parsed = _parsed.get()
    kept = None if parsed is None else parsed.parsed(key)
    if kept.__class__ is list:
        _note_origins(kept, key)
        return kept
    text = texts.get(key)
    if text is not None:
        try:
            loaded = json.loads(text)
        except ValueError:
            loaded = None
        if isinstance(loaded, list) and all(isinstance(obj, dict) for obj in loaded):
            if parsed is not None:
                parsed.keep_parsed(key, loaded, len(text))
            _note_origins(loaded, key)
            return loaded
    with remembering(None):
        objects = make()
    text = _json_exact(objects)
    if text is not None:  # the objects are exactly those its text gives
        texts.put(key, text)
        _note_origins(objects, key)
    return objects
