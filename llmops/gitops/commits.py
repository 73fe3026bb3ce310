"""Making commits safely: checks on the checkout, commits built from objects, all-or-nothing
updates.

A commit is first built from git objects alone (nothing the user sees changes); only then are the
index and the working tree moved to it (by git itself), then the branch, and a failure on the way
puts back what was done. History is never rewritten: a branch only ever moves forward to a child of
where it was.
"""

from __future__ import annotations

import datetime
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from compiler.errors import LlmopsError
from compiler.printable import escape_controls
from llmops.gitops.branch_names import check_branch_name
from llmops.gitops.plumbing import GitRefused, run_git
from llmops.write_guard import confined_path

if TYPE_CHECKING:
    import git

Changes = Mapping[str, bytes | None]  # repository path -> new content, or None to delete

_REGULAR_FILE = 0o100644
_SYMLINK = 0o120000
_NULL_SHA = "0" * 40
_LINK_HINT = (
    "llmops writes only real files in real folders of the repository; replace the link with them"
)
_MAX_LISTED = 5


MAX_SUBJECT_CHARS = 200  # more than any subject people write; history and rollback copy it
MAX_NAME_CHARS = 100


def shortened(text: str, limit: int) -> str:
    """`text`, cut to `limit` characters with an ellipsis when longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def subject(commit: git.Commit) -> str:
    """The first line of a commit message, as text, at most MAX_SUBJECT_CHARS long (a 3 MB subject
    would otherwise be copied into every history listing and rollback message)."""
    summary = commit.summary
    text = summary.decode("utf-8", "replace") if isinstance(summary, bytes) else summary
    return shortened(text, MAX_SUBJECT_CHARS)


def author_name(commit: git.Commit) -> str:
    return shortened(str(commit.author.name or ""), MAX_NAME_CHARS)


def author_email(commit: git.Commit) -> str:
    return shortened(str(commit.author.email or ""), MAX_NAME_CHARS)


def authored_date(commit: git.Commit) -> str:
    """When the commit was authored, ISO 8601 in the author's time zone; a time no calendar holds
    (git stores any integer: year 3,000,000, 2**64 - 1) is shown as git stores it, `@SECONDS
    OFFSET`, rather than failing or being moved to another date."""
    seconds, offset = int(commit.authored_date), int(commit.author_tz_offset)
    try:
        zone = datetime.timezone(datetime.timedelta(seconds=-offset))
        return datetime.datetime.fromtimestamp(seconds, zone).isoformat()
    except (ValueError, OverflowError, OSError):
        sign = "-" if offset > 0 else "+"  # git's offsets are east of UTC; GitPython's west
        minutes = abs(offset) // 60
        return f"@{seconds} {sign}{minutes // 60:02d}{minutes % 60:02d}"


def current_commit(repo: git.Repo) -> git.Commit:
    """HEAD's commit; a clear refusal for a repository without commits."""
    if not repo.head.is_valid():
        raise LlmopsError(
            "the repository has no commits yet (unborn HEAD)", hint="commit the estate first"
        )
    return repo.head.commit


def current_branch(repo: git.Repo) -> git.Head:
    """The branch HEAD is on; a clear refusal for an unborn or detached HEAD."""
    if not repo.head.is_valid():
        raise LlmopsError(
            "the repository has no commits yet (unborn HEAD)", hint="commit the estate first"
        )
    if repo.head.is_detached:
        raise LlmopsError(
            f"HEAD is detached at {repo.head.commit.hexsha[:12]}",
            hint="switch to a branch first (git switch <branch>)",
        )
    for marker, operation, command in _IN_PROGRESS:
        if os.path.exists(os.path.join(repo.git_dir, marker)):
            # a commit now would be made in the middle of it, and the next `git commit` would
            # finish the user's operation on top of it
            raise LlmopsError(
                f"a {operation} is in progress in this repository",
                hint=f"finish it (or `git {command} --abort`) first",
            )
    return repo.active_branch


# what git leaves in its folder while an operation waits for the user
_IN_PROGRESS = (
    ("MERGE_HEAD", "merge", "merge"),
    ("CHERRY_PICK_HEAD", "cherry-pick", "cherry-pick"),
    ("REVERT_HEAD", "revert", "revert"),
    ("rebase-merge", "rebase", "rebase"),
    ("rebase-apply", "rebase or `git am`", "rebase"),
)


def require_clean(repo: git.Repo, prefix: str) -> None:
    """Refuse when anything under the estate is modified, staged or untracked: the commit would mix
    it in, or the checkout would not show what was committed."""
    path = prefix or None
    if not repo.is_dirty(index=True, working_tree=True, untracked_files=True, path=path):
        return
    changed = [*repo.index.diff(None), *repo.index.diff("HEAD")]
    dirty = sorted(
        {str(item.a_path or item.b_path) for item in changed} | set(repo.untracked_files)
    )
    if prefix:
        dirty = [
            name for name in dirty if name == prefix or name.startswith(prefix.rstrip("/") + "/")
        ]
    listed = ", ".join(dirty[:_MAX_LISTED]) + (
        f" and {len(dirty) - _MAX_LISTED} more" if len(dirty) > _MAX_LISTED else ""
    )
    raise LlmopsError(
        f"the working tree has uncommitted changes ({listed or 'staged changes'})",
        hint="commit or stash them first (git stash --include-untracked)",
    )


def _mode_for_write(parent: git.Commit, path: str) -> int:
    """The file mode `path` gets in a child of `parent`: its present mode, or a regular file's.
    Refuses a path that runs through a link or a file of the commit, or that is a link, a folder or
    a submodule itself: git would silently replace them (and a link in the checkout leads
    elsewhere)."""
    parts = path.split("/")
    shown = escape_controls(path)
    if any(part in ("", ".", "..", ".git") for part in parts):
        raise LlmopsError(f"cannot write `{shown}`: not a plain path in the repository")
    tree = parent.tree
    for depth, name in enumerate(parts):
        entry = next((item for item in tree if item.name == name), None)
        if entry is None:
            return _REGULAR_FILE
        here = "/".join(parts[: depth + 1])
        if depth < len(parts) - 1:
            if entry.type != "tree":
                kind = "a link" if entry.mode == _SYMLINK else "not a folder"
                raise LlmopsError(
                    f"cannot write `{shown}`: `{escape_controls(here)}` is {kind} in "
                    f"{parent.hexsha[:12]}",
                    hint=_LINK_HINT,
                )
            tree = entry
        elif entry.type != "blob" or entry.mode == _SYMLINK:
            kind = "a link" if entry.mode == _SYMLINK else f"a {entry.type}"
            raise LlmopsError(
                f"cannot write `{shown}`: it is {kind} in {parent.hexsha[:12]}", hint=_LINK_HINT
            )
        else:
            return int(entry.mode)
    return _REGULAR_FILE


def build_commit(repo: git.Repo, parent: git.Commit, changes: Changes, message: str) -> git.Commit:
    """A commit object on top of `parent` with `changes` applied, built by git in a private index
    file: no reference, index or file of the checkout is touched, and a held `index.lock` does not
    matter."""
    records: list[bytes] = []
    for path, content in sorted(changes.items()):
        mode = _mode_for_write(parent, path)
        if content is None:
            records.append(f"0 {_NULL_SHA}\t{path}".encode())
        else:
            blob = run_git(
                repo, "hash-object", "-w", "--stdin", stdin=content, what="cannot store a file"
            ).strip()
            records.append(f"{mode:o} {blob}\t{path}".encode())
    with tempfile.TemporaryDirectory(prefix="llmops-index-") as folder:
        private = {"GIT_INDEX_FILE": os.path.join(folder, "index")}
        run_git(repo, "read-tree", parent.hexsha, env=private, what="cannot build the commit")
        run_git(
            repo,
            "update-index",
            "-z",
            "--index-info",
            stdin=b"\0".join(records) + b"\0",
            env=private,
            what="cannot build the commit",
        )
        tree = run_git(repo, "write-tree", env=private, what="cannot build the commit").strip()
    try:
        sha = run_git(
            repo,
            "commit-tree",
            tree,
            "-p",
            parent.hexsha,
            "-F",
            "-",
            stdin=message.encode("utf-8"),
            what="cannot build the commit",
        ).strip()
    except GitRefused as refused:
        if any(word in refused.words for word in ("ident", "email", "name")):
            refused.hint = (
                'git records your identity in each commit: git config user.name "..."; '
                'git config user.email "..."'
            )
        raise
    return repo.commit(sha)


def advance_branch(
    repo: git.Repo, branch: git.Head, commit: git.Commit, changes: Changes, logmsg: str
) -> None:
    """Move `branch` (checked out, clean) to its child `commit`. git moves the index and the files
    together (`read-tree -m -u`, which keeps the index's cached trees right and never writes through
    a link); then the branch moves only if it is still at the parent. A failure puts the checkout
    back."""
    parent = commit.parents[0]
    if branch.commit != parent:
        raise LlmopsError(
            f"{branch.name} moved while llmops was working", hint="run the command again"
        )
    root = Path(str(repo.working_tree_dir))
    for path in changes:
        confined_path(root, path)
    run_git(
        repo,
        "read-tree",
        "-m",
        "-u",
        parent.hexsha,
        commit.hexsha,
        what="cannot update the checkout",
    )
    try:
        run_git(
            repo,
            "update-ref",
            "-m",
            logmsg,
            branch.path,
            commit.hexsha,
            parent.hexsha,
            what=f"cannot move {branch.name}",
        )
    except BaseException:
        run_git(
            repo,
            "read-tree",
            "-m",
            "-u",
            commit.hexsha,
            parent.hexsha,
            what="cannot restore the checkout",
        )
        raise


def create_branch(repo: git.Repo, name: str, commit: git.Commit) -> git.Head:
    """A new branch at `commit`; never moves an existing one. The name must pass
    `check_branch_name`."""
    import git as gitmodule

    check_branch_name(repo, name)
    if name in [head.name for head in repo.heads]:
        raise LlmopsError(
            f"branch `{name}` already exists", hint="delete or rename it, or pick another name"
        )
    run_git(
        repo,
        "update-ref",
        "-m",
        f"llmops: branch {name}",
        f"refs/heads/{name}",
        commit.hexsha,
        "",
        what=f"cannot create branch `{name}`",
    )
    return gitmodule.Head(repo, f"refs/heads/{name}")
