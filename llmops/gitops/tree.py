"""A commit as a `RepoTree`: the compiler reads any revision from git objects, never from the
checkout."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compiler.errors import LlmopsError
from compiler.load import rules
from compiler.load.tree import FileProblem, format_size, link_loop

if TYPE_CHECKING:
    import git

_SYMLINK_MODE = 0o120000
_MAX_LINK_HOPS = 8


def open_repository(estate_root: Path) -> tuple[git.Repo, str]:
    """The git repository holding the estate, and the estate's path inside it ('' at the top)."""
    import git

    from llmops.gitops.object_store import CheckedObjectDB

    try:
        repo = git.Repo(estate_root, search_parent_directories=True, odbt=CheckedObjectDB)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise LlmopsError(f"{estate_root} is not inside a git repository") from None
    top = Path(str(repo.working_tree_dir)).resolve()
    prefix = os.path.relpath(estate_root.resolve(), top).replace(os.sep, "/")
    return repo, "" if prefix == "." else prefix


class GitTree:
    """The estate as it is in one commit. Paths are relative to the estate root, as for
    `DirectoryTree`."""

    def __init__(self, commit: git.Commit, prefix: str = ""):
        self.commit = commit
        self.prefix = prefix
        self._index: dict[str, Any] | None = None
        self._submodules: set[str] = set()

    def _entries(self) -> dict[str, Any]:
        """Every object of the commit by repository path, from one traversal (GitPython's `tree /
        path` parses the trees again on every call)."""
        import git

        if self._index is None:
            self._index = {"": self.commit.tree}
            for item in self.commit.tree.traverse():
                # a submodule has no content in this commit: known by its path alone
                if isinstance(item, (git.Blob, git.Tree)):
                    self._index[str(item.path)] = item
                elif isinstance(item, git.Submodule):
                    self._submodules.add(str(item.path))
        return self._index

    def _full(self, path: str) -> str:
        return (
            posixpath.normpath(posixpath.join(self.prefix, path))
            if self.prefix
            else posixpath.normpath(path)
        )

    def _lookup(self, full: str) -> Any:
        """The git object at `full` (a repository path), following links inside the repository."""
        resolved = self._resolve(full)
        return self._entries().get("" if resolved == "." else resolved)

    def _resolve(self, full: str) -> str:
        """`full` with every link along it followed, in its folders as in its last part, as the
        file system follows them in a checkout (a file under a linked folder was "a broken link"
        here, where `validate` of the checkout read it)."""
        entries = self._entries()
        parts = [] if full in ("", ".") else full.split("/")
        done: list[str] = []
        hops = 0
        while len(done) < len(parts):
            path = "/".join([*done, parts[len(done)]])
            entry = entries.get(path)
            if entry is None or getattr(entry, "mode", 0) & 0o170000 != _SYMLINK_MODE:
                done.append(parts[len(done)])
                continue
            hops += 1
            if hops > _MAX_LINK_HOPS:
                raise FileProblem(rules.UNREADABLE_FILE, f"`{path}`: too many levels of links")
            target = entry.data_stream.read().decode("utf-8", errors="replace")
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
            if target.startswith("/") or joined == ".." or joined.startswith("../"):
                raise FileProblem(
                    rules.PATH_ESCAPES_REPO,
                    f"`{path}` is a link to a place outside the repository",
                    "replace the link with the file itself",
                )
            parts = ([] if joined == "." else joined.split("/")) + parts[len(done) + 1 :]
            done = []
        return "/".join(done) or "."

    def is_dir(self, path: str) -> bool:
        try:
            entry = self._lookup(self._full(path))
        except FileProblem:
            return False
        return entry is not None and entry.type == "tree"

    def list_dir(self, path: str) -> list[str]:
        entry = self._lookup(self._full(path))
        # by path: a submodule's entry has no name GitPython can give without its .gitmodules
        return (
            sorted(posixpath.basename(str(child.path)) for child in entry)
            if entry is not None and entry.type == "tree"
            else []
        )

    def walk_files(self, path: str) -> tuple[list[str], list[tuple[str, FileProblem]]]:
        found: list[str] = []
        problems: list[tuple[str, FileProblem]] = []
        seen: set[str] = set()  # folders by the path their links lead to, as the checkout's walk

        def visit(relative: str) -> None:
            try:
                real = self._resolve(self._full(relative))
            except FileProblem as problem:
                problems.append((relative, problem))
                return
            if real in seen:
                return
            seen.add(real)
            for name in self.list_dir(relative):
                if name.startswith("."):
                    continue
                child = f"{relative}/{name}"
                try:
                    entry = self._lookup(self._full(child))
                except FileProblem as problem:
                    problems.append((child, problem))
                    continue
                if entry is None and self._resolve(self._full(child)) in self._submodules:
                    problems.append((child, _submodule_problem()))
                elif entry is None:
                    problems.append((child, FileProblem(rules.UNREADABLE_FILE, "a broken link")))
                elif entry.type == "tree":
                    target = self._resolve(self._full(child))
                    if target in (real, ".") or real.startswith(target + "/"):
                        problems.append((child, link_loop(child)))
                        continue
                    visit(child)
                elif entry.type == "blob":
                    found.append(child)

        visit(path)
        return sorted(found), problems

    def read_bytes(self, path: str, limit: int) -> bytes:
        entry = self._lookup(self._full(path))
        if entry is None or entry.type != "blob":
            raise FileProblem(
                rules.UNREADABLE_FILE, f"`{path}` does not exist in {self.commit.hexsha[:12]}"
            )
        if entry.size > limit:
            raise FileProblem(
                rules.FILE_TOO_LARGE,
                f"the file is {format_size(entry.size)}; the limit is {format_size(limit)}",
            )
        data: bytes = entry.data_stream.read()
        return data


def _submodule_problem() -> FileProblem:
    return FileProblem(
        rules.UNREADABLE_FILE,
        "a git submodule: its files are in another repository, not in this one's commits, so no "
        "revision of this repository holds them",
        "commit the manifests into this repository instead of a submodule",
    )


def require_environment(head: git.Commit, prefix: str, env: str) -> None:
    """Refuse an environment HEAD does not have, naming those it has."""
    from compiler.load.estate import list_environments
    from compiler.printable import shown_argument

    known = list_environments(GitTree(head, prefix))
    if env not in known:
        raise LlmopsError(
            f"environment `{shown_argument(env)}` does not exist at HEAD ({head.hexsha[:12]})",
            hint=f"environments at HEAD: {', '.join(known) or 'none'} (one deleted since lives "
            "on in the commits before it: check one out)",
        )
