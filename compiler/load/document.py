"""Loaded documents: plain values plus the position of every key and value."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from compiler.positions import Path, Span


class PositionMap(dict[Path, Span]):
    """Path -> Span, filled cheaply: the loader stores the YAML node itself (with
    ``dict.__setitem__``) and the node's marks become a ``Span`` only when someone reads the
    position, which is rare (a diagnostic). Reading (``[]``, ``get``, ``values``, ``items``) always
    gives ``Span`` objects."""

    __slots__ = ("file",)

    def __init__(self, file: str, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.file = file

    def _span(self, stored: Any) -> Span:
        if isinstance(stored, Span):
            return stored
        start, end = stored.start_mark, stored.end_mark
        return Span(self.file, start.line + 1, start.column + 1, end.line + 1, end.column + 1)

    def __getitem__(self, path: Path) -> Span:
        return self._span(dict.__getitem__(self, path))

    def get(self, path: Path, default: Any = None) -> Any:
        stored = dict.get(self, path)
        return default if stored is None else self._span(stored)

    def values(self) -> Iterator[Span]:  # type: ignore[override]
        return (self._span(stored) for stored in dict.values(self))

    def items(self) -> Iterator[tuple[Path, Span]]:  # type: ignore[override]
        return ((path, self._span(stored)) for path, stored in dict.items(self))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, dict) and dict(self.items()) == dict(other.items())

    __hash__ = None

    def __repr__(self) -> str:
        return repr(dict(self.items()))


class SourceDocument:
    """One YAML document of one file, as plain data with a position map.

    ``values`` maps a path to where its value was written, ``keys`` to where its key was
    written (both ``PositionMap``; a plain dict given here is converted); ``plain_scalars`` keeps
    the source text of unquoted numbers and booleans so a hint can say what was written (``1.10``)
    rather than what it became (``1.1``).

    The loader may leave the three maps to be made on first use (``fill``): a document without
    diagnostics is read without recording positions, and they are only needed to report one.
    Reading any of them then fills all three, the same as if they had been recorded while loading.
    """

    def __init__(
        self,
        file: str,
        index: int,
        data: Any,
        values: dict[Path, Span] | None = None,
        keys: dict[Path, Span] | None = None,
        plain_scalars: dict[Path, str] | None = None,
        *,
        fill: Callable[[SourceDocument], None] | None = None,
    ):
        self.file = file
        self.index = index
        self.data = data
        # Paths of values the loader already reported (a tag contradicting its value, a YAML 1.1
        # boolean): the schema stage does not report the same value again.
        self.reported: set[Path] = set()
        # The typed manifest validating this document gave without a diagnostic (the schema
        # stage's `validate_document`): a process that reads the same file again (the warm
        # server) does not validate it again.
        self.validated: object | None = None
        self._fill = fill
        if fill is not None and values is None and keys is None and plain_scalars is None:
            return  # made by `fill`, through `set_positions`
        self._values = (
            values if isinstance(values, PositionMap) else PositionMap(file, values or {})
        )
        self._keys = keys if isinstance(keys, PositionMap) else PositionMap(file, keys or {})
        self._plain_scalars: dict[Path, str] = {} if plain_scalars is None else plain_scalars

    def _filled(self) -> None:
        fill, self._fill = self._fill, None
        if fill is None:
            return
        try:
            fill(self)
        except Exception:
            self._no_positions_unless_filled()
            raise
        except BaseException:
            # stopped while filling (Ctrl-C, or the warm server stopping a command whose client
            # went away): filled on the next use, as if never asked. The warm server keeps the
            # document for its next commands, whose diagnostics must not all point at line 1.
            if not hasattr(self, "_values"):
                self._fill = fill
            raise
        self._no_positions_unless_filled()

    def _no_positions_unless_filled(self) -> None:
        """The fill failed or gave nothing: no positions rather than no attribute."""
        if not hasattr(self, "_values"):
            self.set_positions(PositionMap(self.file), PositionMap(self.file), {})

    def set_positions(
        self, values: PositionMap, keys: PositionMap, plain_scalars: dict[Path, str]
    ) -> None:
        """Replace the three maps (the loader's ``fill`` calls this)."""
        self._fill = None
        self._values, self._keys, self._plain_scalars = values, keys, plain_scalars

    @property
    def values(self) -> PositionMap:
        if self._fill is not None:
            self._filled()
        return self._values

    @values.setter
    def values(self, values: dict[Path, Span]) -> None:
        self._filled()
        self._values = values if isinstance(values, PositionMap) else PositionMap(self.file, values)

    @property
    def keys(self) -> PositionMap:
        if self._fill is not None:
            self._filled()
        return self._keys

    @keys.setter
    def keys(self, keys: dict[Path, Span]) -> None:
        self._filled()
        self._keys = keys if isinstance(keys, PositionMap) else PositionMap(self.file, keys)

    @property
    def plain_scalars(self) -> dict[Path, str]:
        if self._fill is not None:
            self._filled()
        return self._plain_scalars

    @plain_scalars.setter
    def plain_scalars(self, plain_scalars: dict[Path, str]) -> None:
        self._filled()
        self._plain_scalars = plain_scalars

    def _fields(self) -> tuple[Any, ...]:
        return (self.file, self.index, self.data, self.values, self.keys, self.plain_scalars)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, SourceDocument)
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"SourceDocument(file={self.file!r}, index={self.index!r}, data={self.data!r}, "
            f"values={self.values!r}, keys={self.keys!r}, plain_scalars={self.plain_scalars!r})"
        )

    @property
    def start(self) -> Span:
        start: Span = self.values.get((), Span.file_start(self.file))
        return start

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


@dataclass(eq=False, repr=False)
class SourceFile:
    """One manifest file: its text (for carets in messages) and its documents."""

    path: str
    text: str
    documents: list[SourceDocument] = field(default_factory=list)
    # The origin and the typed manifests of a file whose every document validated without a
    # diagnostic (`compiler.pipeline.validate_manifests`): the warm server reads it again.
    manifests: tuple[str, Sequence[Releasable]] | None = field(default=None, compare=False)

    def release(self) -> None:
        """Let go of what was kept with the file for a command that reads it again: the warm
        server calls this when it lets the file go. A value a manifest derived may refer to the
        manifest, a cycle that a process which freezes what it keeps (`gc.freeze`) never
        collects; let go of here, it is freed at once."""
        kept, self.manifests = self.manifests, None
        for manifest in kept[1] if kept is not None else ():
            manifest.release()


class Releasable(Protocol):
    """What a `SourceFile` keeps its manifests as (`compiler.resolve.manifest.Manifest`)."""

    def release(self) -> None: ...
