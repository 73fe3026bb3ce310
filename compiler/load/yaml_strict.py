"""A strict YAML reader: YAML 1.2 values with positions, and no silent surprises.

libyaml (through PyYAML's C composer) builds the node graph; this module turns nodes into plain
Python values itself, because that is where the silent failures of ordinary loaders happen:
duplicate keys, YAML 1.1 booleans, foreign tags, alias bombs and recursive aliases.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import yaml

from compiler.diagnostics import Diagnostic, Related, Rule, Severity, make_diagnostic
from compiler.load import rules
from compiler.load.document import PositionMap, SourceDocument
from compiler.load.scalars import (
    FALSES,
    MAX_INTEGER_LENGTH,
    NULLS,
    TRUES,
    YAML11_BOOLEANS,
    OversizedInteger,
    resolve_float,
    resolve_integer,
    resolve_plain_scalar,
    yaml11_number_reading,
)
from compiler.load.unread import UnreadPart, unread_text
from compiler.positions import Path, Span, format_path

if TYPE_CHECKING:
    from compiler.load.yaml_syntax import SyntaxProblem

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_NODES_PER_FILE = 200_000
# Characters a file may repeat through aliases (an alias counts as one value, so 4,000 aliases of a
# 500,000-character string in a 555 KB file made 2 GB of text, and 7.9 GB of memory in K009).
MAX_ALIASED_TEXT = 16 << 20
MAX_DEPTH = 64

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
# The tag the composer gives a scalar it would resolve implicitly (see `_Loader.resolve`).
_IMPLICIT = "llmops:implicit"
_INT_TAG, _FLOAT_TAG = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_BOOL_TAG, _NULL_TAG = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"
_TYPED_TAGS = frozenset({_INT_TAG, _FLOAT_TAG, _BOOL_TAG, _NULL_TAG})
_ALLOWED_EXPLICIT_TAGS = frozenset({_STR, _MAP, _SEQ, *_TYPED_TAGS})
_IMPLICIT_RESOLVER = yaml.resolver.Resolver()
_TYPE_WORDS = {
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
    str: "a string",
    list: "a list",
    dict: "a mapping",
    OversizedInteger: "a number",
}
_NOT_OF_TYPE = object()  # a tagged scalar whose text is not a value of the tag's type
# A node's properties starting with the non-specific tag `!` (after an anchor, if any)
_BANG_FIRST = re.compile(r"(?:&\S+\s+)?!(?=\s|$)")
# Where a file may hold one: `!` after a space, a flow indicator or a line start, before a space
_MAYBE_BANG = re.compile(r"(?:^|[\s\[{,])!(?=\s|$)", re.MULTILINE)
_TAG_WORDS = {
    _INT_TAG: "an integer",
    _FLOAT_TAG: "a number",
    _BOOL_TAG: "true or false",
    _NULL_TAG: "null",
}
# libyaml errors whose context mark (not the problem mark) is where the user made the mistake
_CONTEXT_IS_THE_MISTAKE = frozenset(
    {"while scanning a simple key", "while scanning a quoted scalar"}
)
_ScalarNode = yaml.ScalarNode
_SequenceNode = yaml.SequenceNode
_MappingNode = yaml.MappingNode
# Positions are stored as the nodes themselves, bypassing PositionMap's reading methods.
_store: Callable[[dict[Any, Any], Any, Any], None] = dict.__setitem__

# What a plain scalar reads as, by its text: (value, whether its source text is kept in
# `plain_scalars`). Only texts that need no diagnostic are remembered; so are plain keys that are
# ordinary strings. Both are bounded, in entries and in each entry's length (a long text is read
# again each time, which costs little beside its length: a process that goes on, the warm server,
# kept every changed paragraph), and hold only what any run would compute again.
_PLAIN_VALUES: dict[str, tuple[Any, bool]] = {}
_PLAIN_KEYS: set[str] = set()
_CACHE_LIMIT = 1 << 17
_CACHED_TEXT_LIMIT = 128  # characters
# the top-level keys of every manifest: one of them twice means two manifests run together
_MANIFEST_KEYS = frozenset({"apiVersion", "kind", "metadata", "spec"})


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """The C composer without its per-node tag resolution in Python.

    The composer asks `resolve` for the tag of every node written without one (or with the
    non-specific `!`); the builder below does YAML 1.2 resolution itself, so a plain scalar that
    would be resolved implicitly is marked `_IMPLICIT` and resolved (YAML 1.1, for the tag checks)
    only when its tag matters. No path resolvers are registered, so descending and ascending do
    nothing, as in the base class.
    """

    def resolve(self, kind: type[yaml.Node], value: str | None, implicit: Any) -> str:
        if kind is _ScalarNode:
            # The base resolver only runs its implicit resolvers for a plain-implicit scalar, and
            # gives every other scalar the default string tag.
            return _IMPLICIT if implicit[0] else _STR
        return _SEQ if kind is _SequenceNode else _MAP

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


def _implicit_tag(text: str) -> str:
    """The tag YAML 1.1 resolution gives a plain scalar; a different tag on the node was written
    explicitly."""
    tag: str = _IMPLICIT_RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return tag


def _shortened(text: str, limit: int = 40) -> str:
    """A written value short enough to quote in a message."""
    return text if len(text) <= limit else f"{text[: limit // 2]}…{text[-8:]}"


def _node_span(file: str, node: yaml.Node) -> Span:
    start, end = node.start_mark, node.end_mark
    return Span(file, start.line + 1, start.column + 1, end.line + 1, end.column + 1)


class _Abort(Exception):
    """Stops reading one document after a diagnostic that makes the rest meaningless."""


class _DocumentBuilder:
    """Turns one composed node graph into values, recording positions and diagnostics.

    Positions are recorded as the nodes themselves (`PositionMap` makes a `Span` of one when it is
    read). Most documents are read by `_FastReader` instead, which records nothing; this builder
    reads those that have something to report (or aliases, tags, duplicates), and gives the others
    their positions if they are ever asked for (`_LazyPositions`).
    """

    def __init__(
        self,
        file: str,
        index: int,
        budget: list[int],
        diagnostics: list[Diagnostic],
        lines: list[str] | None = None,
    ):
        self.document = SourceDocument(file=file, index=index, data=None)
        self.file = file
        # the file's lines when it may hold the non-specific tag `!` (see `written_with_bang`)
        self.lines = lines
        self.budget = budget
        self.diagnostics = diagnostics
        self.active: set[int] = set()
        self.seen: set[int] = set()  # nodes already built once: meeting one again means an alias
        # the collections being built: (path, reached by an alias)
        self.open: list[tuple[Path, bool]] = []
        self.values = self.document.values
        self.keys = self.document.keys
        self.plain_scalars = self.document.plain_scalars
        # the line where a second manifest starts inside this document (a `---` left out)
        self.second_manifest_line: int | None = None

    def span(self, node: yaml.Node) -> Span:
        return _node_span(self.file, node)

    def report(
        self,
        rule: Rule,
        message: str,
        span: Span,
        path: Path,
        hint: str | None = None,
        related: tuple[Related, ...] = (),
    ) -> None:
        self.diagnostics.append(
            make_diagnostic(rule, message, span, path=path, hint=hint, related=related)
        )
        # a warned-about value may still be refused by the schema
        if rule.severity is Severity.ERROR:
            self.document.reported.add(path)

    def build(self, node: yaml.Node) -> SourceDocument:
        try:
            self.document.data = self.value(node, (), 0)
        except _Abort:
            self.document.data = None
        return self.document

    def alias_site(self, path: Path) -> Span:
        """Where the alias that produced the value at ``path`` is written.

        The composer shares the anchored node, so its own position is the anchor's; the alias is
        written as the value of ``path``'s key, or as an item of the collection containing ``path``.
        """
        if path and isinstance(path[-1], str) and path in self.document.keys:
            return self.document.keys[path]
        site: Span = self.document.values.get(path[:-1], self.document.start)
        return site

    def value(self, node: yaml.Node, path: Path, depth: int) -> Any:
        node_id = id(node)
        seen = self.seen
        aliased = node_id in seen
        seen.add(node_id)
        budget = self.budget
        budget[0] -= 1
        if aliased and node.__class__ is _ScalarNode:
            budget[1] -= len(node.value)
            if budget[1] < 0:
                self.report(
                    rules.ALIAS_BOMB,
                    f"this file repeats more than {MAX_ALIASED_TEXT >> 20} MiB of text through "
                    "aliases",
                    self.alias_site(path),
                    path,
                    "write the text out where it is needed, or shorten the anchored value",
                )
                raise _Abort
        if budget[0] < 0:
            outermost_alias = next(
                (p for p, by_alias in (*self.open, (path, aliased)) if by_alias), None
            )
            span = self.span(node) if outermost_alias is None else self.alias_site(outermost_alias)
            hint = (
                "write the values out instead of aliasing large anchors repeatedly"
                if outermost_alias is not None
                else (
                    "split the manifests over several files; no single manifest needs this many "
                    "values"
                )
            )
            self.report(
                rules.ALIAS_BOMB,
                f"this file expands to more than {MAX_NODES_PER_FILE:,} values",
                span,
                path,
                hint,
            )
            raise _Abort
        if depth > MAX_DEPTH:
            self.report(
                rules.TOO_DEEP,
                f"values are nested more than {MAX_DEPTH} levels deep",
                self.span(node),
                path,
            )
            raise _Abort
        _store(self.values, path, node)
        node_type = node.__class__
        if node_type is _ScalarNode:
            return self.scalar(node, path)  # type: ignore[arg-type]
        if node_id in self.active:
            self.report(
                rules.RECURSIVE_ALIAS,
                "this alias refers to a node that contains it",
                self.alias_site(path),
                path,
            )
            raise _Abort
        self.active.add(node_id)
        self.open.append((path, aliased))
        try:
            self.check_collection_tag(node, path)
            if node_type is _MappingNode:
                return self.mapping(node, path, depth)  # type: ignore[arg-type]
            value = self.value
            return [value(child, (*path, i), depth + 1) for i, child in enumerate(node.value)]
        finally:
            self.active.discard(node_id)
            self.open.pop()

    def check_collection_tag(self, node: yaml.Node, path: Path) -> None:
        expected = _SEQ if node.__class__ is _SequenceNode else _MAP
        if node.tag != expected:
            self.report(
                rules.UNKNOWN_TAG,
                f"tag {node.tag!r} is not accepted",
                self.span(node),
                path,
                "remove the tag; manifests use plain mappings, lists and scalars",
            )
            raise _Abort

    def scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        text: str = node.value
        tag = node.tag
        if tag in _TYPED_TAGS:
            return self.typed_scalar(node, path, tag)
        if tag in (_MAP, _SEQ):
            self.report(
                rules.TAG_MISMATCH,
                f"`{_shortened(text)}` is not {'a mapping' if tag == _MAP else 'a list'}, but it "
                f"is tagged {tag.replace('tag:yaml.org,2002:', '!!')}",
                self.span(node),
                path,
                "remove the tag, or write a value of its type",
            )
            return text
        # A quoted scalar resolved implicitly, or a plain one written after `!`, has the
        # non-specific tag.
        if tag == _IMPLICIT and (node.style or self.written_with_bang(node)):
            self.report(
                rules.UNKNOWN_TAG,
                f"the non-specific tag `!` makes `{_shortened(text)}` the string "
                f'"{_shortened(text)}" in YAML 1.2, but other YAML readers resolve it as if '
                "untagged",
                self.span(node),
                path,
                "remove the `!`; quote the value if a string is meant",
            )
            return text
        if node.style:  # quoted or block scalar: always a string
            if tag != _STR and tag not in _ALLOWED_EXPLICIT_TAGS:
                self.report(
                    rules.UNKNOWN_TAG,
                    f"tag {tag!r} is not accepted",
                    self.span(node),
                    path,
                    "remove the tag",
                )
            return text
        if tag == _IMPLICIT:
            known = _PLAIN_VALUES.get(text)
            if known is not None:
                if known[1]:
                    self.plain_scalars[path] = text
                return known[0]
        else:
            # a tag written out: one outside YAML 1.2's core schema is refused even when YAML 1.1
            # would give the value that tag anyway (`!!timestamp 2001-12-14`: a date to PyYAML)
            if tag not in _ALLOWED_EXPLICIT_TAGS:
                self.report(
                    rules.UNKNOWN_TAG,
                    f"tag {tag!r} is not accepted",
                    self.span(node),
                    path,
                    "remove the tag; quote the value if a string is meant",
                )
                return text
            if tag == _STR and tag != _implicit_tag(text):
                return text
        if text in YAML11_BOOLEANS:
            self.report(
                rules.YAML11_BOOLEAN,
                f'`{text}` is a boolean in YAML 1.1 but the string "{text}" in YAML 1.2',
                self.span(node),
                path,
                f"write {'true' if text.lower() in ('yes', 'on') else 'false'} for a boolean, "
                f'or "{text}" for a string',
            )
            return text
        value = resolve_plain_scalar(text)
        if value.__class__ is OversizedInteger:
            self.report_oversized(node, path)
        keep_text = isinstance(value, (bool, int, float))
        if keep_text:
            self.plain_scalars[path] = text
        reading = yaml11_number_reading(text)
        if reading is not None:
            self.report(
                rules.YAML11_NUMBER,
                f"`{text}` is {reading}",
                self.span(node),
                path,
                f'quote it ("{text}") if a string is meant',
            )
        elif len(_PLAIN_VALUES) < _CACHE_LIMIT and len(text) <= _CACHED_TEXT_LIMIT:
            _PLAIN_VALUES[text] = (value, keep_text)
        return value

    def written_with_bang(self, node: yaml.ScalarNode) -> bool:
        """Whether a plain scalar is written after the non-specific tag `!` (the composer gives it
        the same tag as an untagged one). Its node starts at its properties: an anchor, a tag."""
        if self.lines is None:
            return False
        start = node.start_mark
        if start.line >= len(self.lines):
            return False
        return _BANG_FIRST.match(self.lines[start.line], start.column) is not None

    def report_oversized(self, node: yaml.ScalarNode, path: Path) -> None:
        """An integer too long to convert: reported, and the document is not read further."""
        self.report(
            rules.NUMBER_TOO_LONG,
            f"this integer is {len(node.value):,} characters long; the limit is "
            f"{MAX_INTEGER_LENGTH}",
            self.span(node),
            path,
            "no manifest field accepts such a number; write the intended value",
        )
        raise _Abort

    def typed_scalar(self, node: yaml.ScalarNode, path: Path, tag: str) -> Any:
        """A scalar with an explicit !!int, !!float, !!bool or !!null tag: the value of that type
        its text denotes (YAML 1.2 core schema, quoted or not), or a diagnostic when the text is not
        one."""
        text: str = node.value
        if tag == _NULL_TAG:
            if text in NULLS:
                return None
            value: Any = _NOT_OF_TYPE
        elif tag == _BOOL_TAG:
            value = True if text in TRUES else False if text in FALSES else _NOT_OF_TYPE
        else:
            value = resolve_float(text) if tag == _FLOAT_TAG else resolve_integer(text)
            if value is None:
                value = _NOT_OF_TYPE
        if value is _NOT_OF_TYPE:
            self.report(
                rules.TAG_MISMATCH,
                f"`{_shortened(text)}` is not {_TAG_WORDS[tag]}, but it is tagged "
                f"{tag.replace('tag:yaml.org,2002:', '!!')}",
                self.span(node),
                path,
                "remove the tag, or write a value of its type",
            )
            return text
        if value.__class__ is OversizedInteger:
            self.report_oversized(node, path)
        self.plain_scalars[path] = text
        return value

    def key(self, node: yaml.Node, path: Path) -> str | None:
        if isinstance(node, yaml.ScalarNode):
            if node.tag not in (_IMPLICIT, _STR):  # a tag written on the key
                known, written = node.tag in _ALLOWED_EXPLICIT_TAGS, _shortened(node.value)
                self.report(
                    rules.NON_STRING_KEY if known else rules.UNKNOWN_TAG,
                    f"key `{written}` is tagged {node.tag!r}"
                    + (", not a string" if known else ", which is not accepted"),
                    self.span(node),
                    path,
                    f'remove the tag; quote the key if a string is meant: "{written}"',
                )
                return None
            if node.style or node.tag == _STR:  # quoted, or written `!!str`: a string as written
                return str(node.value)
            if node.value == "<<":
                self.report(
                    rules.MERGE_KEY,
                    "the merge key `<<` is not supported",
                    self.span(node),
                    path,
                    "write the merged keys out explicitly",
                )
                return None
            if node.value in YAML11_BOOLEANS:
                self.report(
                    rules.YAML11_BOOLEAN,
                    f"key `{node.value}` is a boolean in YAML 1.1 but a string in YAML 1.2",
                    self.span(node),
                    path,
                    f'quote it: "{node.value}"',
                )
                return str(node.value)
            value = resolve_plain_scalar(node.value)
            if isinstance(value, str):
                if len(_PLAIN_KEYS) < _CACHE_LIMIT and len(value) <= _CACHED_TEXT_LIMIT:
                    _PLAIN_KEYS.add(value)
                return value
            written = _shortened(node.value)
            self.report(
                rules.NON_STRING_KEY,
                f"key `{written}` is read as {_TYPE_WORDS[type(value)]}, not a string",
                self.span(node),
                path,
                f'quote it: "{written}"',
            )
            return None
        self.report(
            rules.NON_STRING_KEY, "a mapping or list cannot be a key", self.span(node), path
        )
        return None

    def mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        keys = self.keys
        value = self.value
        plain_keys = _PLAIN_KEYS
        depth += 1
        for key_node, value_node in node.value:
            # A plain key already known to be an ordinary string needs no checks (see `key`).
            if (
                key_node.__class__ is _ScalarNode
                and not key_node.style
                and key_node.value in plain_keys
            ):
                key = key_node.value
            else:
                key = self.key(key_node, path)
                if key is None:
                    continue
            child = (*path, key)
            if key in result and not path and key in _MANIFEST_KEYS:
                # apiVersion, kind, metadata or spec again: a second manifest follows without the
                # `---` that would make it a document of its own. One error, not one per key.
                if self.second_manifest_line is None:
                    line = self.span(key_node).line
                    self.second_manifest_line = line
                    self.report(
                        rules.DUPLICATE_KEY,
                        f"key `{key}` appears twice in the document: a `---` line is probably "
                        f"missing before line {line}, where a second manifest starts",
                        self.span(key_node),
                        child,
                        f"add a line `---` before line {line}, so that each manifest is a "
                        "document of its own",
                        (Related(keys[child], f"`{key}` of the first manifest"),),
                    )
                continue
            if key in result:
                first = keys[child]
                self.report(
                    rules.DUPLICATE_KEY,
                    f"key `{key}` appears twice in {format_path(path) or 'the document'}",
                    self.span(key_node),
                    child,
                    "keep one of the two entries",
                    (Related(first, f"`{key}` is first defined here"),),
                )
                continue
            _store(keys, child, key_node)
            result[key] = value(value_node, child, depth)
        return result


class _Unclean(Exception):
    """`_FastReader` met something that `_DocumentBuilder` reports or treats specially."""


class _FastReader:
    """The values of a document that `_DocumentBuilder` would read without a single diagnostic,
    the same values, without recording positions or paths; raises `_Unclean` at anything else
    (including any alias of a collection and any explicit tag), and the builder reads it instead.
    ``budget`` counts the nodes visited exactly as the builder does."""

    __slots__ = ("budget", "seen")

    def __init__(self, budget: int):
        self.budget = budget
        self.seen: set[int] = set()

    def value(self, node: yaml.Node, depth: int) -> Any:
        self.budget -= 1
        if self.budget < 0 or depth > MAX_DEPTH:
            raise _Unclean
        node_type = node.__class__
        if node_type is _ScalarNode:
            return _fast_scalar(node)  # type: ignore[arg-type]
        node_id = id(node)
        if node_id in self.seen:
            raise _Unclean
        self.seen.add(node_id)
        if node_type is _MappingNode and node.tag == _MAP:
            return self.mapping(node, depth + 1)  # type: ignore[arg-type]
        if node_type is _SequenceNode and node.tag == _SEQ:
            value = self.value
            depth += 1
            return [value(child, depth) for child in node.value]
        raise _Unclean

    def mapping(self, node: yaml.MappingNode, depth: int) -> dict[str, Any]:
        """Nearly every node of a manifest is a key or a scalar value of a mapping: both are read
        here without a call when their text was read before (a key known to be a plain string, a
        value in `_PLAIN_VALUES`, or a quoted string), and the scalar values are counted at the
        end. Stopping later than `value` would (budget, a key written twice) changes nothing:
        `_Unclean` discards the reading."""
        result: dict[str, Any] = {}
        value = self.value
        plain_keys = _PLAIN_KEYS
        plain_values = _PLAIN_VALUES
        scalars = 0
        scalar_type, str_tag, implicit_tag = _ScalarNode, _STR, _IMPLICIT
        inline = depth <= MAX_DEPTH  # else `value` refuses each value
        pairs = node.value
        for key_node, value_node in pairs:
            if key_node.__class__ is not scalar_type:
                raise _Unclean
            key = key_node.value
            if key_node.tag != implicit_tag and key_node.tag != str_tag:
                raise _Unclean  # a tag written on the key: the builder judges it
            if not key_node.style and key not in plain_keys:
                _check_plain_key(key)
            if inline and value_node.__class__ is scalar_type:
                if value_node.style:
                    if value_node.tag != str_tag:
                        raise _Unclean
                    result[key] = value_node.value
                    scalars += 1
                    continue
                if value_node.tag == implicit_tag:
                    known = plain_values.get(value_node.value)
                    if known is not None:
                        result[key] = known[0]
                        scalars += 1
                        continue
            result[key] = value(value_node, depth)
        self.budget -= scalars
        if self.budget < 0 or len(result) != len(pairs):
            raise _Unclean
        return result


def _check_plain_key(key: str) -> None:
    """A plain key read for the first time: `_Unclean` unless it is a string without a
    diagnostic (then remembered in `_PLAIN_KEYS`)."""
    if key == "<<" or key in YAML11_BOOLEANS or not isinstance(resolve_plain_scalar(key), str):
        raise _Unclean
    if len(_PLAIN_KEYS) < _CACHE_LIMIT and len(key) <= _CACHED_TEXT_LIMIT:
        _PLAIN_KEYS.add(key)


def _fast_scalar(node: yaml.ScalarNode) -> Any:
    """`_DocumentBuilder.scalar` for a scalar it reads without a diagnostic and without a tag."""
    text: str = node.value
    if node.style:
        if node.tag == _STR:
            return text
        raise _Unclean
    if node.tag != _IMPLICIT:
        raise _Unclean
    known = _PLAIN_VALUES.get(text)
    if known is not None:
        return known[0]
    if text in YAML11_BOOLEANS or yaml11_number_reading(text) is not None:
        raise _Unclean
    value = resolve_plain_scalar(text)
    if value.__class__ is OversizedInteger:
        raise _Unclean
    if len(_PLAIN_VALUES) < _CACHE_LIMIT and len(text) <= _CACHED_TEXT_LIMIT:
        _PLAIN_VALUES[text] = (value, isinstance(value, (bool, int, float)))
    return value


class _LazyPositions:
    """The positions of a file's documents that `_FastReader` read: when one of them is asked for
    its positions, the file is composed again and `_DocumentBuilder` records them for all of
    them."""

    def __init__(self, file: str, text: str):
        self.file = file
        self.text = text
        # Weak: each document holds this (its `fill`), and a cycle would leave every document, and
        # all that refers to them, to the cyclic collector instead of freeing them with the last
        # reference (a process that goes on, such as the warm server, would walk them all).
        self.waiting: weakref.WeakValueDictionary[int, SourceDocument] = (
            weakref.WeakValueDictionary()
        )

    def add(self, file: str, index: int, data: Any) -> SourceDocument:
        document = SourceDocument(file, index, data, fill=self.fill)
        self.waiting[index] = document
        return document

    def fill(self, document: SourceDocument) -> None:
        waiting = dict(self.waiting)
        self.waiting.clear()
        text, self.text = self.text, ""
        try:
            for index, root in enumerate(yaml.compose_all(text, Loader=_Loader)):
                target = waiting.get(index)
                if target is not None:
                    builder = _DocumentBuilder(
                        self.file, index, [MAX_NODES_PER_FILE, MAX_ALIASED_TEXT], []
                    )
                    builder.build(root)
                    target.set_positions(builder.values, builder.keys, builder.plain_scalars)
                    del waiting[index]
                if not waiting:
                    break
        # after these documents, as when first read
        except (yaml.YAMLError, RecursionError, MemoryError):
            pass
        except BaseException:
            # stopped midway (see `SourceDocument._filled`): the documents still without positions
            # are filled from the same text when next asked
            self.text = text
            self.waiting.update(waiting)
            raise
        for target in waiting.values():  # cannot happen: every document waiting was composed before
            target.set_positions(PositionMap(self.file), PositionMap(self.file), {})


def documents_read_before(
    file: str, text: str, values: list[tuple[int, Any]]
) -> list[SourceDocument]:
    """The documents `parse_manifest_file` returned for ``text`` when it found nothing wrong in
    it (see `clean_values`): the same values, their positions made on first use, as then."""
    lazy = _LazyPositions(file, text)
    return [lazy.add(file, index, data) for index, data in values]


def clean_values(
    documents: list[SourceDocument], diagnostics: list[Diagnostic], unread: list[UnreadPart]
) -> list[tuple[int, Any]] | None:
    """(index, value) of each document of a file that `_FastReader` read whole, without a
    diagnostic or an unread part: what `documents_read_before` needs to give the same documents
    again. None for any other file (it is parsed each time)."""
    if diagnostics or unread:
        return None
    if not all(
        isinstance(getattr(document._fill, "__self__", None), _LazyPositions)
        for document in documents
    ):
        return None
    return [(document.index, document.data) for document in documents]


def _reader_diagnostic(file: str, text: str, error: yaml.reader.ReaderError) -> Diagnostic:
    """libyaml's reader refuses control characters; its position is a UTF-8 byte offset (C
    loader)."""
    prefix = text.encode("utf-8")[: error.position].decode("utf-8", errors="ignore")
    line = prefix.count("\n") + 1
    column = len(prefix) - (prefix.rfind("\n") + 1) + 1
    character = (
        error.character if isinstance(error.character, int) else ord(error.character or "\0")
    )
    return make_diagnostic(
        rules.YAML_SYNTAX,
        f"the control character U+{character:04X} is not allowed in YAML",
        Span(file, line, column),
        hint="remove it, or write it as an escape (\\uXXXX) inside a double-quoted string",
    )


# Line breaks to YAML 1.1 (libyaml, PyYAML) that YAML 1.2 and editors read as ordinary characters:
# libyaml folds a NEL in a quoted string into a space and counts lines past any of them, so the
# value read and the lines reported would both differ from what the file says.
_DISPUTED_BREAKS = {
    "\x85": "next line, NEL",
    "\u2028": "line separator",
    "\u2029": "paragraph separator",
}


def _disputed_break(file: str, text: str) -> Diagnostic | None:
    """The first raw U+0085, U+2028 or U+2029 in ``text`` as an error at its place, or None."""
    found = [index for index in (text.find(char) for char in _DISPUTED_BREAKS) if index >= 0]
    if not found:
        return None
    index = min(found)
    # lines end as YAML ends them: LF, CRLF or a lone CR (a file saved with CR line ends)
    before = text[:index].replace("\r\n", "\n").replace("\r", "\n")
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    character = text[index]
    code = f"U+{ord(character):04X}"
    return make_diagnostic(
        rules.YAML_SYNTAX,
        f"the character {code} ({_DISPUTED_BREAKS[character]}) is a line break to YAML 1.1 "
        "readers (libyaml, PyYAML) and not to YAML 1.2 ones, so they read different values and "
        "lines from this file",
        Span(file, line, column),
        hint=f'write it as an escape inside a double-quoted string ("\\u{ord(character):04x}"), '
        "or remove it",
    )


def _syntax_diagnostic(file: str, text: str, error: yaml.YAMLError) -> Diagnostic:
    if isinstance(error, yaml.reader.ReaderError):
        return _reader_diagnostic(file, text, error)
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    span = Span(file, line, column)
    if "nesting depth" in problem or "flow level" in (context or ""):
        # libyaml since 0.2.5 (bundled with PyYAML 6.0.4 wheels) stops deep nesting itself; older
        # versions leave it to our depth limit. Either way it is the same mistake, with one code.
        return make_diagnostic(
            rules.TOO_DEEP,
            "values are nested too deeply for the YAML parser",
            span,
            hint=f"no manifest needs more than {MAX_DEPTH} levels of nesting",
        )
    if _char_at(text, line, column) == "\t":
        return make_diagnostic(
            rules.TAB_INDENTATION,
            "a tab is used where YAML needs spaces",
            span,
            hint="indent with spaces only",
        )
    explained = _explained(text, error) if isinstance(error, yaml.MarkedYAMLError) else None
    if explained is not None:
        related = tuple(
            Related(Span(file, line, column), what) for line, column, what in explained.related
        )
        return make_diagnostic(
            rules.YAML_SYNTAX,
            explained.message,
            Span(file, explained.line, explained.column),
            hint=explained.hint,
            related=related,
        )
    message = f"{context}, {problem}" if context else problem
    context_mark = getattr(error, "context_mark", None)
    if context in _CONTEXT_IS_THE_MISTAKE and context_mark is not None:
        # libyaml notices a key without `:` or an unclosed quote only where it gives up (the next
        # line, or the end of the file); the key or the opening quote is what the user has to fix.
        span = Span(file, context_mark.line + 1, context_mark.column + 1)
    return make_diagnostic(
        rules.YAML_SYNTAX,
        message,
        span,
        hint="check the indentation and quoting of this line and of the line above it",
    )


def _explained(text: str, error: yaml.MarkedYAMLError) -> SyntaxProblem | None:
    # imported with the first syntax error: a run that meets none (most) does not load it
    from compiler.load import yaml_syntax

    try:
        return yaml_syntax.explain(text, error)
    except Exception:  # an explanation is a courtesy: a file it cannot explain gets libyaml's words
        return None


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.split("\n", line)
    if len(lines) < line:
        return ""
    row = lines[line - 1]
    return row[column - 1] if 0 < column <= len(row) else ""


def _version_directives(file: str, text: str) -> list[Diagnostic]:
    """A `%YAML` directive naming another version than 1.2, at each document that has one."""
    found: list[Diagnostic] = []
    try:
        for event in yaml.parse(text, Loader=_BaseLoader):
            version = getattr(event, "version", None)
            if isinstance(event, yaml.DocumentStartEvent) and version not in (None, (1, 2)):
                written = ".".join(str(part) for part in version)
                found.append(
                    make_diagnostic(
                        rules.YAML_VERSION,
                        f"this document declares YAML {written}; llmops reads YAML 1.2, where "
                        "`010`, `yes` and `1_000` mean other things",
                        _directive_span(
                            file, text, event.start_mark.line if event.start_mark else 0
                        ),
                        hint="remove the `%YAML` line (or write `%YAML 1.2`) and write the values "
                        "as YAML 1.2 reads them",
                    )
                )
    except yaml.YAMLError:
        pass  # composing the file reports it
    return found


def _directive_span(file: str, text: str, line: int) -> Span:
    """The `%YAML` line at or before ``line`` (0-based), where the directive is written."""
    lines = text.split("\n")
    for number in range(min(line, len(lines) - 1), -1, -1):
        if lines[number].startswith("%YAML"):
            return Span(file, number + 1, 1, number + 1, len(lines[number]) + 1)
    return Span(file, line + 1, 1)


def parse_documents(file: str, text: str) -> tuple[list[SourceDocument], list[Diagnostic]]:
    """Parse every document of one file. Never raises for bad input: problems become diagnostics."""
    documents, diagnostics, _ = parse_manifest_file(file, text)
    return documents, diagnostics


def parse_manifest_file(
    file: str, text: str
) -> tuple[list[SourceDocument], list[Diagnostic], list[UnreadPart]]:
    """`parse_documents`, plus the parts of the file whose documents could not be read."""
    diagnostics: list[Diagnostic] = []
    roots: list[yaml.Node | None] = []
    stopped = False
    disputed = _disputed_break(file, text)
    try:
        if disputed is not None:  # read as the reader's refusal of a character: nothing composed
            stopped = True
            diagnostics.append(disputed)
        else:
            for composed in yaml.compose_all(text, Loader=_Loader):
                roots.append(composed)
    except yaml.YAMLError as error:
        stopped = True
        diagnostics.append(_syntax_diagnostic(file, text, error))
    except (RecursionError, MemoryError):
        stopped = True
        diagnostics.append(
            make_diagnostic(
                rules.TOO_DEEP, "the YAML parser ran out of stack or memory", Span.file_start(file)
            )
        )
    if "%YAML" in text:
        diagnostics.extend(_version_directives(file, text))
    budget = [MAX_NODES_PER_FILE, MAX_ALIASED_TEXT]
    documents: list[SourceDocument] = []
    unread: list[UnreadPart] = []
    lines: list[str] = []
    # a file that may hold `!` is read by the builder, which tells `! 3` from `3`
    bang_lines = text.split("\n") if "!" in text and _MAYBE_BANG.search(text) else None
    # the reader takes an alias of a scalar as the value it names: the builder counts what
    # aliases repeat (`MAX_ALIASED_TEXT`)
    may_alias = "*" in text
    if stopped:  # everything after the last document composed is lost
        lines = text.split("\n")
        last_root = next((root for root in reversed(roots) if root is not None), None)
        unread.append(
            unread_text(file, lines, last_root.end_mark.line if last_root is not None else 0)
        )
    lazy: _LazyPositions | None = None
    for index, root in enumerate(roots):
        if root is None:
            continue
        if isinstance(root, yaml.ScalarNode) and not root.style and root.value in ("", "~", "null"):
            continue  # an empty document (e.g. after a trailing ---)
        reader = _FastReader(budget[0])
        try:
            if bang_lines is not None or may_alias:
                raise _Unclean
            data = reader.value(root, 0)
        except _Unclean:
            builder = _DocumentBuilder(file, index, budget, diagnostics, bang_lines)
            document = builder.build(root)
            if builder.second_manifest_line is not None:
                # the manifest run into this one is lost: what it defines is a gap
                lines = lines or text.split("\n")
                unread.append(
                    unread_text(file, lines, builder.second_manifest_line - 1, root.end_mark.line)
                )
        else:
            if isinstance(data, dict):
                budget[0] = reader.budget
                lazy = lazy or _LazyPositions(file, text)
                documents.append(lazy.add(file, index, data))
                continue
            document = _DocumentBuilder(file, index, budget, diagnostics).build(root)
        if not isinstance(document.data, dict):
            lines = lines or text.split("\n")
            unread.append(unread_text(file, lines, root.start_mark.line, root.end_mark.line))
        if document.data is None:
            continue
        if not isinstance(document.data, dict):
            diagnostics.append(
                make_diagnostic(
                    rules.NOT_A_MAPPING,
                    f"document {index + 1} is {_TYPE_WORDS[type(document.data)]}, not a mapping",
                    document.start,
                    hint="each document must be a manifest with apiVersion, kind, metadata, spec",
                )
            )
            continue
        documents.append(document)
    return documents, diagnostics, unread
