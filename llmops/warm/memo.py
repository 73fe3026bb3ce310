"""What a warm server keeps in its memory from its earlier commands: the manifest files it read
(`compiler.load.estate.SourceFiles`: a file whose bytes are the same is neither parsed nor
validated again), and the objects its renders parsed from the render cache's texts
(`ParsedObjects`). Set up by the server alone; every other process keeps nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compiler.load.document import SourceFile

# A file no command read in this many commands is let go: Argo CD's Applications of one repository
# take turns (dev, stg, prod), each reading `_shared` and its own environment.
KEEP_COMMANDS = 8
# The most text the parsed objects kept were parsed from, in characters. An environment of a
# thousand endpoints renders about 5.7 million (its objects take about 27 MB as Python values).
KEEP_PARSED_CHARACTERS = 16 * 1024 * 1024


class ParsedObjects:
    """The values a group's renders parsed from the render cache's kept texts (the objects of a
    template, of a training job), by group and text key: the group's next render takes them
    instead of parsing the same texts again (compiler/render/remembered.py). Kept: what each
    group's last render took or parsed, while one of the last `KEEP_COMMANDS` commands that
    rendered anything rendered the group (an environment removed, or of a repository no longer
    asked about, is let go; commands that render nothing, each environment handed out whole by
    the cache, let go of nothing), the groups rendered most recently first, up to
    `KEEP_PARSED_CHARACTERS` of their texts in all."""

    def __init__(self) -> None:
        # by group, in the order they were last rendered; each value with its text's length
        self._kept: dict[str, dict[bytes, tuple[Any, int]]] = {}
        self._now: dict[str, dict[bytes, tuple[Any, int]]] = {}  # this command's
        self._renders = 0  # commands that rendered a group
        self._rendered: dict[str, int] = {}  # by group, the last of them that rendered it

    def get(self, group: str, key: bytes) -> Any | None:
        now = self._now.setdefault(group, {})
        found = now.get(key)
        if found is None:
            found = self._kept.get(group, {}).get(key)
            if found is None:
                return None
            now[key] = found
        return found[0]

    def put(self, group: str, key: bytes, value: Any, size: int) -> None:
        self._now.setdefault(group, {})[key] = (value, size)

    def command_done(self) -> None:
        """Each group rendered now keeps what this render used; then the groups no recent render
        rendered are let go, and the budget is applied."""
        if not self._now:
            return
        self._renders += 1
        for group, used in self._now.items():
            self._kept.pop(group, None)
            self._kept[group] = used
            self._rendered[group] = self._renders
        self._now = {}
        oldest = self._renders - KEEP_COMMANDS
        left = KEEP_PARSED_CHARACTERS
        kept: dict[str, dict[bytes, tuple[Any, int]]] = {}
        for group in reversed(self._kept):
            entries = {}
            if self._rendered[group] > oldest:
                for key, entry in self._kept[group].items():
                    if entry[1] <= left:
                        entries[key] = entry
                        left -= entry[1]
            if entries:
                kept[group] = entries
            else:
                del self._rendered[group]
        self._kept = dict(reversed(kept.items()))

    def characters(self) -> int:
        """The characters of text the kept values were parsed from."""
        return sum(size for entries in self._kept.values() for _, size in entries.values())


class KeptSources:
    """Each manifest path's last clean read, by its bytes, and the command that last used it; and
    the renders' `ParsedObjects`."""

    def __init__(self) -> None:
        self._files: dict[str, tuple[bytes, SourceFile, int]] = {}
        self._command = 0
        self.parsed = ParsedObjects()

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
        """Let go of what the last `KEEP_COMMANDS` commands did not read (and of the parsed
        objects past their budget)."""
        self.parsed.command_done()
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
