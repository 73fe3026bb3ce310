"""Read-only access to a repository's files, refusing anything that leaves the repository.

The loader only sees a ``RepoTree``; the working tree is one implementation, and a git commit
can be another, so the same compiler runs on any revision without touching a checkout.
"""

from __future__ import annotations

import os
import posixpath
import stat
from pathlib import Path
from typing import Protocol

from compiler.diagnostics import Rule
from compiler.load import rules
from compiler.records import record


@record(eq=False, repr=False)
class FileProblem(Exception):
    """Why a path could not be read; becomes a diagnostic at whoever asked for it."""

    rule: Rule
    message: str
    hint: str | None = None
    line: int = 1
    column: int = 1


def link_loop(path: str) -> FileProblem:
    """The problem of a link at ``path`` that leads to a folder holding it (rule Y021)."""
    return FileProblem(
        rules.LINK_LOOP,
        f"`{path}` is a link to a folder that holds it: what that folder holds would be read "
        "again as this environment's",
        "link to the folder to share, not to one above the link, or remove the link",
    )


class RepoTree(Protocol):
    """The repository as the compiler sees it: repo-relative POSIX paths, bytes, no writes."""

    def is_dir(self, path: str) -> bool: ...

    def list_dir(self, path: str) -> list[str]:
        """Names of the entries of a directory, sorted."""
        ...

    def walk_files(self, path: str) -> tuple[list[str], list[tuple[str, FileProblem]]]:
        """Every regular file below ``path`` (sorted), and the entries that could not be
        followed."""
        ...

    def read_bytes(self, path: str, limit: int) -> bytes:
        """The file's bytes; raises ``FileProblem`` if it is missing, escapes, or exceeds
        ``limit``."""
        ...


def normalize_repo_path(path: str) -> str:
    """A user-written repo-relative path in canonical form; raises ``FileProblem`` if it escapes."""
    if not path or "\x00" in path:
        raise FileProblem(rules.PATH_ESCAPES_REPO, "the path is empty or contains a NUL byte")
    if path.startswith(("/", "\\")) or (len(path) > 1 and path[1] == ":"):
        raise FileProblem(
            rules.PATH_ESCAPES_REPO,
            f"`{path}` is an absolute path",
            "write the path relative to the repository root",
        )
    normal = posixpath.normpath(path.replace("\\", "/"))
    if normal == ".." or normal.startswith("../"):
        raise FileProblem(
            rules.PATH_ESCAPES_REPO,
            f"`{path}` points outside the repository",
            "keep referenced files inside the repository",
        )
    return normal


# names the estate reads as manifests (compiler.load.estate.MANIFEST_SUFFIXES: this module is
# imported by it)
_MANIFEST_NAMES = (".yaml", ".yml")


def _kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (a named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file"


def format_size(size: int) -> str:
    """A file's size for a person, exact where rounding would hide that it is over a limit: a
    file one byte over 1 MiB read "1.0 MiB; the limit is 1.0 MiB"."""
    if size < 1024:
        return f"{size:,} bytes"
    rounded = f"{size / (1024 * 1024):.1f} MiB" if size >= 1024 * 1024 else f"{size / 1024:.1f} KiB"
    return f"{size:,} bytes ({rounded})"


class DirectoryTree:
    """A repository checked out on disk. Symlinks are followed only while they stay inside it."""

    def __init__(self, root: Path):
        self.root = root
        self._real_root = os.path.realpath(root)
        self._real_folders: dict[str, str] = {}  # folder path -> its real path, once per tree

    def _inside(self, real: str) -> bool:
        return real == self._real_root or real.startswith(self._real_root + os.sep)

    def _real_path(self, path: str) -> str:
        """``realpath(root/path)``, with each folder resolved once: for a path of plain names whose
        last is not a link, that is its folder's real path joined with that name (realpath
        resolves one part after the other): one lstat instead of one per part of every path
        (18,000 for an estate of 800 files). Any other path is resolved whole."""
        folder, _, name = path.rpartition("/")
        parts = path.split("/")
        if len(parts) < 2 or not all(parts) or "." in parts or ".." in parts:
            return os.path.realpath(os.path.join(self._real_root, path))
        if os.path is not posixpath:
            return os.path.realpath(os.path.join(self._real_root, path))
        real_folder = self._real_folders.get(folder)
        if real_folder is None:
            real_folder = os.path.realpath(os.path.join(self._real_root, folder))
            self._real_folders[folder] = real_folder
        joined = os.path.join(real_folder, name)
        try:
            if stat.S_ISLNK(os.lstat(joined).st_mode):
                return os.path.realpath(joined)
        except OSError:
            pass  # nothing there: realpath leaves it as joined
        return joined

    def _resolve(self, path: str) -> str:
        real = self._real_path(path)
        if not self._inside(real):
            raise FileProblem(
                rules.PATH_ESCAPES_REPO,
                f"`{path}` is a link to a place outside the repository",
                "replace the link with the file itself",
            )
        return real

    def is_dir(self, path: str) -> bool:
        try:
            return os.path.isdir(self._resolve(path))
        except FileProblem:
            return False

    def list_dir(self, path: str) -> list[str]:
        return sorted(os.listdir(self._resolve(path)))

    def walk_files(self, path: str) -> tuple[list[str], list[tuple[str, FileProblem]]]:
        found: list[str] = []
        problems: list[tuple[str, FileProblem]] = []
        seen_dirs: set[str] = set()

        def visit(relative: str) -> None:
            try:
                real = self._resolve(relative)
            except FileProblem as problem:
                problems.append((relative, problem))
                return
            if real in seen_dirs:
                return
            seen_dirs.add(real)
            try:
                names = sorted(os.listdir(real))
            except OSError as error:
                problems.append(
                    (relative, FileProblem(rules.UNREADABLE_FILE, f"cannot list: {error.strerror}"))
                )
                return
            for name in names:
                if name.startswith("."):
                    continue
                child = f"{relative}/{name}"
                try:
                    child_real = self._resolve(child)
                except FileProblem as problem:
                    problems.append((child, problem))
                    continue
                try:
                    mode = os.stat(child_real).st_mode
                except OSError as error:
                    target = os.path.relpath(child_real, self._real_root).replace(os.sep, "/")
                    reason = (
                        "does not exist"
                        if isinstance(error, FileNotFoundError)
                        else f"cannot be read ({error.strerror})"
                    )
                    problems.append(
                        (
                            child,
                            FileProblem(
                                rules.UNREADABLE_FILE,
                                f"a broken link: its target `{target}` {reason}",
                                "restore the target, or replace the link with the file itself",
                            ),
                        )
                    )
                    continue
                if stat.S_ISDIR(mode):
                    if child_real == real or real.startswith(child_real + os.sep):
                        problems.append((child, link_loop(child)))
                        continue
                    visit(child)
                elif stat.S_ISREG(mode):
                    found.append(child)
                elif name.endswith(_MANIFEST_NAMES):  # a FIFO, a socket, a device named as one
                    problems.append(
                        (
                            child,
                            FileProblem(
                                rules.UNREADABLE_FILE,
                                f"`{name}` is {_kind_of(mode)}, not a regular file",
                                "replace it with the manifest file itself",
                            ),
                        )
                    )

        visit(path)
        return sorted(found), problems

    def read_bytes(self, path: str, limit: int) -> bytes:
        real = self._resolve(path)
        try:
            size = os.path.getsize(real)
            if not os.path.isfile(real):
                raise FileProblem(rules.UNREADABLE_FILE, f"`{path}` is not a regular file")
            if size > limit:
                raise FileProblem(
                    rules.FILE_TOO_LARGE,
                    f"the file is {format_size(size)}; the limit is {format_size(limit)}",
                )
            with open(real, "rb") as handle:
                data = handle.read(size + 1)  # not `limit`: reading allocates the size asked for
            if len(data) > limit:  # the file grew since it was measured
                raise FileProblem(
                    rules.FILE_TOO_LARGE, f"the file is over the limit of {format_size(limit)}"
                )
            return data
        except FileNotFoundError:
            raise FileProblem(rules.UNREADABLE_FILE, f"`{path}` does not exist") from None
        except OSError as error:
            raise FileProblem(
                rules.UNREADABLE_FILE, f"cannot read `{path}`: {error.strerror}"
            ) from None
