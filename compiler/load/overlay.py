"""A repository with some files replaced or deleted: an edit is validated before anything is
written."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

from compiler.load import rules
from compiler.load.tree import FileProblem, RepoTree, format_size


class OverlayTree:
    """`base` as it would be with `changes` (estate-relative path -> new bytes, or None for
    deleted)."""

    def __init__(self, base: RepoTree, changes: Mapping[str, bytes | None]):
        self.base = base
        self.changes = {posixpath.normpath(path): content for path, content in changes.items()}

    def _added_below(self, path: str) -> list[str]:
        prefix = "" if path in ("", ".") else path.rstrip("/") + "/"
        return [
            changed
            for changed, content in self.changes.items()
            if content is not None and changed.startswith(prefix)
        ]

    def is_dir(self, path: str) -> bool:
        return self.base.is_dir(path) or bool(self._added_below(path))

    def list_dir(self, path: str) -> list[str]:
        prefix = "" if path in ("", ".") else path.rstrip("/") + "/"
        names = {
            name
            for name in self.base.list_dir(path)
            if self.changes.get(prefix + name, b"") is not None
        }
        names.update(added[len(prefix) :].split("/", 1)[0] for added in self._added_below(path))
        return sorted(names)

    def walk_files(self, path: str) -> tuple[list[str], list[tuple[str, FileProblem]]]:
        found, problems = self.base.walk_files(path)
        kept = {
            file for file in found if self.changes.get(posixpath.normpath(file), b"") is not None
        }
        kept.update(self._added_below(path))
        return sorted(kept), problems

    def read_bytes(self, path: str, limit: int) -> bytes:
        normal = posixpath.normpath(path)
        if normal in self.changes:
            content = self.changes[normal]
            if content is None:
                raise FileProblem(rules.UNREADABLE_FILE, f"`{path}` does not exist")
            if len(content) > limit:
                raise FileProblem(
                    rules.FILE_TOO_LARGE,
                    f"the file is {format_size(len(content))}; the limit is {format_size(limit)}",
                )
            return content
        return self.base.read_bytes(path, limit)
