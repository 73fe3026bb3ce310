"""Making commits safely: checks on the checkout, commits built from objects, all-or-nothing updates.

A commit is first built from git objects alone (nothing the user sees changes); only then are the
working tree, the branch and the index moved to it, and a failure on the way puts back what was done.
History is never rewritten: a branch only ever moves forward to a child of where it was.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from compiler.errors import LlmopsError
from llmops.manifest_files import write_atomically_bytes

if TYPE_CHECKING:
    import git

Changes = Mapping[str, bytes | None]  # repository path -> new content, or None to delete

_REGULAR_FILE = 0o100644
_MAX_LISTED = 5


def subject(commit: git.Commit) -> str:
    """The first line of a commit message, as text."""
    summary = commit.summary
    return summary.decode("utf-8", "replace") if isinstance(summary, bytes) else summary


def current_commit(repo: git.Repo) -> git.Commit:
    """HEAD's commit; a clear refusal for a repository without commits."""
    if not repo.head.is_valid():
        raise LlmopsError("the repository has no commits yet (unborn HEAD)", hint="commit the estate first")
    return repo.head.commit


def current_branch(repo: git.Repo) -> git.Head:
    """The branch HEAD is on; a clear refusal for an unborn or detached HEAD."""
    if not repo.head.is_valid():
        raise LlmopsError("the repository has no commits yet (unborn HEAD)", hint="commit the estate first")
    if repo.head.is_detached:
        raise LlmopsError(f"HEAD is detached at {repo.head.commit.hexsha[:12]}",
                          hint="switch to a branch first (git switch <branch>)")
    return repo.active_branch


def require_clean(repo: git.Repo, prefix: str) -> None:
    """Refuse when anything under the estate is modified, staged or untracked: the commit would mix it in,
    or the checkout would not show what was committed."""
    path = prefix or None
    if not repo.is_dirty(index=True, working_tree=True, untracked_files=True, path=path):
        return
    changed = [*repo.index.diff(None), *repo.index.diff("HEAD")]
    dirty = sorted({str(item.a_path or item.b_path) for item in changed} | set(repo.untracked_files))
    if prefix:
        dirty = [name for name in dirty if name == prefix or name.startswith(prefix.rstrip("/") + "/")]
    listed = ", ".join(dirty[:_MAX_LISTED]) + (f" and {len(dirty) - _MAX_LISTED} more" if len(dirty) > _MAX_LISTED
                                                else "")
    raise LlmopsError(f"the working tree has uncommitted changes ({listed or 'staged changes'})",
                      hint="commit or stash them first (git stash --include-untracked)")


def build_commit(repo: git.Repo, parent: git.Commit, changes: Changes, message: str) -> git.Commit:
    """A commit object on top of `parent` with `changes` applied; no reference, index or file is touched."""
    import git as gitmodule
    from git.index.typ import BaseIndexEntry, IndexEntry
    from gitdb import IStream  # type: ignore[import-untyped]

    index = gitmodule.IndexFile.from_tree(repo, parent.tree)
    for path, content in sorted(changes.items()):
        existing = index.entries.get((path, 0))
        if content is None:
            index.entries.pop((path, 0), None)
            continue
        stored = repo.odb.store(IStream(gitmodule.Blob.type, len(content), io.BytesIO(content)))
        mode = existing.mode if existing is not None else _REGULAR_FILE
        index.entries[(path, 0)] = IndexEntry.from_base(BaseIndexEntry((mode, stored.binsha, 0, path)))
    tree = index.write_tree()
    return gitmodule.Commit.create_from_tree(repo, tree, message, parent_commits=[parent], head=False)


def advance_branch(repo: git.Repo, branch: git.Head, commit: git.Commit, changes: Changes, logmsg: str) -> None:
    """Move `branch` (checked out, clean) to its child `commit`: files first, then the branch, then the index.
    Anything that fails puts the files back and leaves the branch where it was."""
    parent = commit.parents[0]
    if branch.commit != parent:
        raise LlmopsError(f"{branch.name} moved while llmops was working", hint="run the command again")
    root = Path(str(repo.working_tree_dir))
    previous: dict[Path, bytes | None] = {}
    try:
        for path, content in sorted(changes.items()):
            target = root / path
            previous[target] = target.read_bytes() if target.exists() else None
            if content is None:
                if target.exists():
                    target.unlink()
            else:
                write_atomically_bytes(target, content)
        branch.set_commit(commit, logmsg=logmsg)
        try:
            repo.index.reset(commit, paths=list(changes) or None)
        except Exception:
            branch.set_commit(parent, logmsg=f"{logmsg} (undone)")
            raise
    except BaseException:
        for target, content in previous.items():
            if content is None:
                if target.exists():
                    target.unlink()
            else:
                write_atomically_bytes(target, content)
        raise
    _remove_empty_folders(root, changes)


def _remove_empty_folders(root: Path, changes: Changes) -> None:
    """Git does not track folders: a folder emptied by a deletion would only clutter the checkout."""
    for path, content in changes.items():
        if content is not None:
            continue
        folder = (root / path).parent
        while folder != root and folder.is_dir() and not any(folder.iterdir()):
            os.rmdir(folder)
            folder = folder.parent


def create_branch(repo: git.Repo, name: str, commit: git.Commit) -> git.Head:
    """A new branch at `commit`; never moves an existing one."""
    import git as gitmodule

    if name in [head.name for head in repo.heads]:
        raise LlmopsError(f"branch `{name}` already exists", hint="delete or rename it, or pick another name")
    naming_hint = "a branch name like promote/chat-stg-to-prod: no spaces, `..`, `~^:?*[\\`, leading `-` or `/`"
    if name.startswith("-"):
        raise LlmopsError(f"`{name}` is not a valid branch name", hint=naming_hint)
    try:
        return repo.create_head(name, commit)
    except ValueError as error:  # GitPython checks git's reference-name rules
        raise LlmopsError(f"`{name}` is not a valid branch name: {error}", hint=naming_hint) from None
    except gitmodule.GitCommandError as error:
        raise LlmopsError(f"cannot create branch `{name}`: {error.stderr.strip() or error}") from None
