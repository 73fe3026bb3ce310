"""The manifest files a warm server read in its earlier commands, kept in its memory
(`compiler.load.estate.SourceFiles`): a file whose bytes are the same is neither parsed nor
validated again. Set up by the server alone; every other process keeps nothing."""

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
        before = self._files.get(path)
        if before is not None and before[1] is not source:
            before[1].release()
        self._files[path] = (data, source, self._command)

    def command_done(self) -> None:
        """Let go of what the last `KEEP_COMMANDS` commands did not read."""
        self._command += 1
        oldest = self._command - KEEP_COMMANDS
        kept = {}
        for path, entry in self._files.items():
            if entry[2] >= oldest:
                kept[path] = entry
            else:
                entry[1].release()
        self._files = kept

    def __len__(self) -> int:
        return len(self._files)


_kept: KeptSources | None = None


def kept_sources() -> KeptSources | None:
    """The server's kept files, or None in any other process."""
    return _kept


def keep_sources() -> KeptSources:
    """Start keeping files in this process (the server, once)."""
    global _kept
    if _kept is None:
        _kept = KeptSources()
    return _kept
