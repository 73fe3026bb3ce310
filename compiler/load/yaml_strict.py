"""A strict YAML reader: YAML 1.2 values with positions, and no silent surprises.

libyaml (through PyYAML's C composer) builds the node graph; this module turns nodes into plain
Python values itself, because that is where the silent failures of ordinary loaders happen:
duplicate keys, YAML 1.1 booleans, foreign tags, alias bombs and recursive aliases.
"""

from __future__ import annotations

from typing import Any

import yaml

from compiler.diagnostics import Diagnostic, Related, Rule, make_diagnostic
from compiler.load import rules
from compiler.load.document import SourceDocument
from compiler.load.scalars import YAML11_BOOLEANS, resolve_plain_scalar, yaml11_number_reading
from compiler.positions import Path, Span, format_path

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_NODES_PER_FILE = 200_000
MAX_DEPTH = 64

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_ALLOWED_EXPLICIT_TAGS = frozenset({
    _STR, _MAP, _SEQ, "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null",
})
_IMPLICIT_RESOLVER = yaml.resolver.Resolver()
_TYPE_WORDS = {int: "a number", float: "a number", bool: "a boolean", type(None): "null", str: "a string",
               list: "a list", dict: "a mapping"}
# libyaml errors whose context mark (not the problem mark) is where the user made the mistake
_CONTEXT_IS_THE_MISTAKE = frozenset({"while scanning a simple key", "while scanning a quoted scalar"})


def _implicit_tag(text: str) -> str:
    """The tag YAML 1.1 resolution gives a plain scalar; a different tag on the node was written explicitly."""
    tag: str = _IMPLICIT_RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return tag


class _Abort(Exception):
    """Stops reading one document after a diagnostic that makes the rest meaningless."""


class _DocumentBuilder:
    """Turns one composed node graph into values, recording positions and diagnostics."""

    def __init__(self, file: str, index: int, budget: list[int], diagnostics: list[Diagnostic]):
        self.document = SourceDocument(file=file, index=index, data=None)
        self.file = file
        self.budget = budget
        self.diagnostics = diagnostics
        self.active: set[int] = set()
        self.seen: set[int] = set()  # nodes already built once: meeting one again means an alias
        self.open: list[tuple[Path, bool]] = []  # the collections being built: (path, reached by an alias)

    def span(self, node: yaml.Node) -> Span:
        start, end = node.start_mark, node.end_mark
        return Span(self.file, start.line + 1, start.column + 1, end.line + 1, end.column + 1)

    def report(self, rule: Rule, message: str, span: Span, path: Path, hint: str | None = None,
               related: tuple[Related, ...] = ()) -> None:
        self.diagnostics.append(make_diagnostic(rule, message, span, path=path, hint=hint, related=related))

    def build(self, node: yaml.Node) -> SourceDocument:
        try:
            self.document.data = self.value(node, (), 0)
        except _Abort:
            self.document.data = None
        return self.document

    def alias_site(self, path: Path) -> Span:
        """Where the alias that produced the value at ``path`` is written.

        The composer shares the anchored node, so its own position is the anchor's; the alias is written
        as the value of ``path``'s key, or as an item of the collection containing ``path``.
        """
        if path and isinstance(path[-1], str) and path in self.document.keys:
            return self.document.keys[path]
        return self.document.values.get(path[:-1], self.document.start)

    def value(self, node: yaml.Node, path: Path, depth: int) -> Any:
        aliased = id(node) in self.seen
        self.seen.add(id(node))
        self.budget[0] -= 1
        if self.budget[0] < 0:
            outermost_alias = next((p for p, by_alias in (*self.open, (path, aliased)) if by_alias), None)
            span = self.span(node) if outermost_alias is None else self.alias_site(outermost_alias)
            self.report(rules.ALIAS_BOMB,
                        f"this file expands to more than {MAX_NODES_PER_FILE:,} values", span, path,
                        "write the values out instead of aliasing large anchors repeatedly")
            raise _Abort
        if depth > MAX_DEPTH:
            self.report(rules.TOO_DEEP, f"values are nested more than {MAX_DEPTH} levels deep",
                        self.span(node), path)
            raise _Abort
        self.document.values[path] = self.span(node)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if id(node) in self.active:
            self.report(rules.RECURSIVE_ALIAS, "this alias refers to a node that contains it",
                        self.alias_site(path), path)
            raise _Abort
        self.active.add(id(node))
        self.open.append((path, aliased))
        try:
            self.check_collection_tag(node, path)
            if isinstance(node, yaml.SequenceNode):
                return [self.value(child, (*path, i), depth + 1) for i, child in enumerate(node.value)]
            assert isinstance(node, yaml.MappingNode)
            return self.mapping(node, path, depth)
        finally:
            self.active.discard(id(node))
            self.open.pop()

    def check_collection_tag(self, node: yaml.Node, path: Path) -> None:
        expected = _SEQ if isinstance(node, yaml.SequenceNode) else _MAP
        if node.tag != expected:
            self.report(rules.UNKNOWN_TAG, f"tag {node.tag!r} is not accepted", self.span(node), path,
                        "remove the tag; manifests use plain mappings, lists and scalars")
            raise _Abort

    def scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        text: str = node.value
        if node.style:  # quoted or block scalar: always a string
            if node.tag != _STR and node.tag not in _ALLOWED_EXPLICIT_TAGS:
                self.report(rules.UNKNOWN_TAG, f"tag {node.tag!r} is not accepted", self.span(node), path,
                            "remove the tag")
            return text
        implicit = _implicit_tag(text)
        if node.tag != implicit:
            if node.tag not in _ALLOWED_EXPLICIT_TAGS:
                self.report(rules.UNKNOWN_TAG, f"tag {node.tag!r} is not accepted", self.span(node), path,
                            "remove the tag; quote the value if a string is meant")
                return text
            if node.tag == _STR:
                return text
        if text in YAML11_BOOLEANS:
            self.report(rules.YAML11_BOOLEAN,
                        f"`{text}` is a boolean in YAML 1.1 but the string \"{text}\" in YAML 1.2",
                        self.span(node), path,
                        f"write {'true' if text.lower() in ('yes', 'on') else 'false'} for a boolean, "
                        f"or \"{text}\" for a string")
            return text
        value = resolve_plain_scalar(text)
        if isinstance(value, (bool, int, float)):
            self.document.plain_scalars[path] = text
        reading = yaml11_number_reading(text)
        if reading is not None:
            self.report(rules.YAML11_NUMBER, f"`{text}` is {reading}", self.span(node), path,
                        f"quote it (\"{text}\") if a string is meant")
        return value

    def key(self, node: yaml.Node, path: Path) -> str | None:
        if isinstance(node, yaml.ScalarNode):
            if node.style:
                return str(node.value)
            if node.value == "<<":
                self.report(rules.MERGE_KEY, "the merge key `<<` is not supported", self.span(node), path,
                            "write the merged keys out explicitly")
                return None
            if node.value in YAML11_BOOLEANS:
                self.report(rules.YAML11_BOOLEAN,
                            f"key `{node.value}` is a boolean in YAML 1.1 but a string in YAML 1.2",
                            self.span(node), path, f"quote it: \"{node.value}\"")
                return str(node.value)
            value = resolve_plain_scalar(node.value)
            if isinstance(value, str):
                return value
            self.report(rules.NON_STRING_KEY, f"key `{node.value}` is read as {_TYPE_WORDS[type(value)]}, "
                        "not a string", self.span(node), path, f"quote it: \"{node.value}\"")
            return None
        self.report(rules.NON_STRING_KEY, "a mapping or list cannot be a key", self.span(node), path)
        return None

    def mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.key(key_node, path)
            if key is None:
                continue
            child = (*path, key)
            key_span = self.span(key_node)
            if key in result:
                first = self.document.keys[child]
                self.report(rules.DUPLICATE_KEY, f"key `{key}` appears twice in {format_path(path) or 'the document'}",
                            key_span, child, "keep one of the two entries",
                            (Related(first, f"`{key}` is first defined here"),))
                continue
            self.document.keys[child] = key_span
            result[key] = self.value(value_node, child, depth + 1)
        return result


def _reader_diagnostic(file: str, text: str, error: yaml.reader.ReaderError) -> Diagnostic:
    """libyaml's reader refuses control characters; its position is a UTF-8 byte offset (C loader)."""
    prefix = text.encode("utf-8")[: error.position].decode("utf-8", errors="ignore")
    line = prefix.count("\n") + 1
    column = len(prefix) - (prefix.rfind("\n") + 1) + 1
    character = error.character if isinstance(error.character, int) else ord(error.character or "\0")
    return make_diagnostic(rules.YAML_SYNTAX, f"the control character U+{character:04X} is not allowed in YAML",
                           Span(file, line, column), hint="remove it, or write it as an escape (\\uXXXX) inside "
                           "a double-quoted string")


def _syntax_diagnostic(file: str, text: str, error: yaml.YAMLError) -> Diagnostic:
    if isinstance(error, yaml.reader.ReaderError):
        return _reader_diagnostic(file, text, error)
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    span = Span(file, line, column)
    if _char_at(text, line, column) == "\t":
        return make_diagnostic(rules.TAB_INDENTATION, "a tab is used where YAML needs spaces", span,
                               hint="indent with spaces only")
    message = f"{context}, {problem}" if context else problem
    context_mark = getattr(error, "context_mark", None)
    if context in _CONTEXT_IS_THE_MISTAKE and context_mark is not None:
        # libyaml notices a key without `:` or an unclosed quote only where it gives up (the next line,
        # or the end of the file); the key or the opening quote is what the user has to fix.
        span = Span(file, context_mark.line + 1, context_mark.column + 1)
    return make_diagnostic(rules.YAML_SYNTAX, message, span)



def _char_at(text: str, line: int, column: int) -> str:
    lines = text.split("\n", line)
    if len(lines) < line:
        return ""
    row = lines[line - 1]
    return row[column - 1] if 0 < column <= len(row) else ""


def parse_documents(file: str, text: str) -> tuple[list[SourceDocument], list[Diagnostic]]:
    """Parse every document of one file. Never raises for bad input: problems become diagnostics."""
    diagnostics: list[Diagnostic] = []
    roots: list[yaml.Node | None] = []
    try:
        for composed in yaml.compose_all(text, Loader=_Loader):
            roots.append(composed)
    except yaml.YAMLError as error:
        diagnostics.append(_syntax_diagnostic(file, text, error))
    except (RecursionError, MemoryError):
        diagnostics.append(make_diagnostic(rules.TOO_DEEP, "the YAML parser ran out of stack or memory",
                                           Span.file_start(file)))
    budget = [MAX_NODES_PER_FILE]
    documents: list[SourceDocument] = []
    for index, root in enumerate(roots):
        if root is None:
            continue
        if isinstance(root, yaml.ScalarNode) and not root.style and root.value in ("", "~", "null"):
            continue  # an empty document (e.g. after a trailing ---)
        document = _DocumentBuilder(file, index, budget, diagnostics).build(root)
        if document.data is None:
            continue
        if not isinstance(document.data, dict):
            diagnostics.append(make_diagnostic(
                rules.NOT_A_MAPPING,
                f"document {index + 1} is {_TYPE_WORDS[type(document.data)]}, not a mapping", document.start,
                hint="each document must be a manifest with apiVersion, kind, metadata, spec"))
            continue
        documents.append(document)
    return documents, diagnostics
