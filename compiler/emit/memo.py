"""Emitting an object again costs more than recognising it: ``EmittedTexts`` (the edge keeps them,
llmops/render_cache.py) hand out the YAML text of an object emitted before.

`emit_document` is a pure function of its argument's value: of its exact types (``True`` is not
``1``, a tuple is not a list: the emitter treats them apart), its dict orders and its strings and
numbers. An object is known by the SHA-256 of its `marshal` form at version 0, which holds exactly
that: it writes only builtin types (any other type, subclasses included, raises, and such an
object is emitted as usual; the few other builtins it writes, sets and bytes, never occur in a
rendered object, and would at worst miss), keeps every type and order, writes no references (they
depend on how objects are shared) and no interning flags (they depend on the process), and reading
it back gives the same value. Equal keys therefore mean objects the emitter cannot tell apart.
"""

from __future__ import annotations

import hashlib
import marshal
from collections.abc import Callable
from typing import Any, Protocol

from compiler.emit.yaml_text import emit_document

Emitter = Callable[[dict[str, Any]], str]
MARSHAL_VERSION = 0  # no references, no interning flags: the same value gives the same bytes
# An object whose exact form is larger is emitted every time, never kept. In practice that is an
# environment's proxy ConfigMap (2.8 MB at 1,000 endpoints), which any change to the environment
# changes: keeping it cost more than emitting it (hashing it, writing it into the cache and reading
# it back on the next run, about 0.03 s a change at 1,000 endpoints), and a text this large is
# written almost as fast as it is hashed.
KEPT_FORM_LIMIT = 64 * 1024


class EmittedTexts(Protocol):
    """Texts of objects emitted before, by `object_key`."""

    def get(self, key: bytes) -> str | None: ...

    def put(self, key: bytes, text: str) -> None: ...


class EmittedGroups(Protocol):
    """`EmittedTexts` by group (an environment, or the Argo CD objects): a group rendered again
    needs only its own."""

    def group(self, name: str) -> EmittedTexts | None:
        """The group's texts, or None when none are kept for it (its texts are made as usual)."""
        ...


def object_key(obj: dict[str, Any]) -> bytes | None:
    """The SHA-256 of the object's exact value, or None for one holding a type `marshal` does not
    write (anything but builtins: dicts, lists, tuples, strings, numbers, booleans, None and the
    like), nested too deep to write, or larger than `KEPT_FORM_LIMIT`."""
    try:
        written = marshal.dumps(obj, MARSHAL_VERSION)
    except ValueError:
        return None
    return hashlib.sha256(written).digest() if len(written) <= KEPT_FORM_LIMIT else None


def remembering_emitter(
    texts: EmittedTexts, known_key: Callable[[dict[str, Any]], bytes | None] | None = None
) -> Emitter:
    """`emit_document`, taking the text of an object emitted before from ``texts`` and giving
    them the text of every other object it emits. ``known_key`` gives the key of an object whose
    text follows from how it was made (or None: the object is keyed by its value)."""

    def emit(obj: dict[str, Any]) -> str:
        key = None if known_key is None else known_key(obj)
        if key is None:
            key = object_key(obj)
        if key is None:
            return emit_document(obj)
        text = texts.get(key)
        if text is None:
            text = emit_document(obj)
            texts.put(key, text)
        return text

    return emit
