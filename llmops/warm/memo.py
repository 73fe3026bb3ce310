"""What a warm server keeps in its memory between commands: the manifest files it read
(`compiler.load.estate.SourceFiles`: a file whose bytes are the same is neither parsed nor
validated again), and the values it read from the render cache's JSON texts (in `marshal` form,
read back far faster: `compiler.render.remembered.remembered_json`). Set up by the server alone;
every other process keeps nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from compiler.load.document import SourceFile

# A file no command read in this many commands is let go: Argo CD's Applications of one repository
# take turns (dev, stg, prod), each reading `_shared` and its own environment.
KEEP_COMMANDS = 8


class KeptSources:
    """Each manifest path's last clean read, by its bytes, and the command that last used it."""

    def __init__(self) -> None:
        self._files: dict[str, tuple[bytes, SourceFile, int]] = {}
        self._command = 0

    def get(self, path: str, data: bytes) -> SourceFile | None:
        kept = self._files.get(path)
        if kept is None or kept[0] != data:
            return None
        self._files[path] = (data, kept[1], self._command)
        return kept[1]

    def put(self, path: str, data: bytes, source: SourceFile) -> None:
        self._files[path] = (data, source, self._command)

    def command_done(self) -> None:
        """Let go of what the last `KEEP_COMMANDS` commands did not read."""
        self._command += 1
        oldest = self._command - KEEP_COMMANDS
        self._files = {path: kept for path, kept in self._files.items() if kept[2] >= oldest}
        if _values is not None:
            _values.command_done()

    def __len__(self) -> int:
        return len(self._files)


class KeptValues:
    """Values read from the render cache's JSON texts, in `marshal` form, by the text's key, and
    the command that last used each."""

    def __init__(self) -> None:
        self._values: dict[bytes, tuple[bytes, int]] = {}
        self._command = 0

    def get(self, key: bytes) -> bytes | None:
        kept = self._values.get(key)
        if kept is None:
            return None
        if kept[1] != self._command:
            self._values[key] = (kept[0], self._command)
        return kept[0]

    def put(self, key: bytes, form: bytes) -> None:
        self._values[key] = (form, self._command)

    def command_done(self) -> None:
        """Let go of what the last `KEEP_COMMANDS` commands did not use."""
        self._command += 1
        oldest = self._command - KEEP_COMMANDS
        self._values = {key: kept for key, kept in self._values.items() if kept[1] >= oldest}

    def __len__(self) -> int:
        return len(self._values)


_kept: KeptSources | None = None
_values: KeptValues | None = None


def kept_sources() -> KeptSources | None:
    """The server's kept files, or None in any other process."""
    return _kept


def kept_values() -> KeptValues | None:
    """The server's kept values, or None in any other process."""
    return _values


def keep_sources() -> KeptSources:
    """Start keeping files and values in this process (the server, once)."""
    global _kept, _values
    if _kept is None:
        _kept = KeptSources()
    if _values is None:
        _values = KeptValues()
    return _kept
