"""Loaded documents: plain values plus the position of every key and value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compiler.positions import Path, Span


@dataclass
class SourceDocument:
    """One YAML document of one file, as plain data with a position map.

    ``values`` maps a path to where its value was written, ``keys`` to where its key was
    written; ``plain_scalars`` keeps the source text of unquoted numbers and booleans so a hint
    can say what was written (``1.10``) rather than what it became (``1.1``).
    """

    file: str
    index: int
    data: Any
    values: dict[Path, Span] = field(default_factory=dict)
    keys: dict[Path, Span] = field(default_factory=dict)
    plain_scalars: dict[Path, str] = field(default_factory=dict)

    @property
    def start(self) -> Span:
        return self.values.get((), Span.file_start(self.file))

    def span_of(self, path: Path, *, key: bool = False) -> Span:
        """The position of ``path``, or of its nearest written ancestor when it is absent.

        With ``key=True`` a mapping entry points at its key (unknown fields, duplicates);
        otherwise at its value (wrong types, bad values).
        """
        probe = tuple(path)
        while True:
            if key and probe in self.keys:
                return self.keys[probe]
            if probe in self.values:
                if not key and probe and probe in self.keys and probe != tuple(path):
                    return self.keys[probe]
                return self.values[probe]
            if probe in self.keys:
                return self.keys[probe]
            if not probe:
                return self.start
            probe = probe[:-1]

    def get(self, path: Path, default: Any = None) -> Any:
        """Read a value by path from the raw data (before schema validation)."""
        node = self.data
        for segment in path:
            if isinstance(segment, str) and isinstance(node, dict) and segment in node:
                node = node[segment]
            elif isinstance(segment, int) and isinstance(node, list) and 0 <= segment < len(node):
                node = node[segment]
            else:
                return default
        return node


@dataclass
class SourceFile:
    """One manifest file: its text (for carets in messages) and its documents."""

    path: str
    text: str
    documents: list[SourceDocument] = field(default_factory=list)
