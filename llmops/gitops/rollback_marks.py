"""Rollback commits, read back from their trailers, and which changes they undid.

`llmops rollback` writes `Rollback-Target: <sha>` (the revision restored; absent when the endpoint
did not exist then) and one `Reverts: <sha>` per manifest change it undoes. Reading an endpoint's
history newest first, a rollback commit marks the changes it reverts as undone; a rollback that a
later rollback undid marks nothing. What is left, the live changes, are the endpoint's versions: the
next rollback goes back past the newest live one, so rolling back twice goes two versions back
instead of undoing itself.

Trailers are text anyone can write, so they are trusted only when the commit agrees with them: the
Rollback-Target is an ancestor of the commit and the endpoint's manifest after the commit equals the
one at the target, or both are absent (no target: the commit removed the endpoint), and a change
counts as undone only if it is an ancestor of the rollback that names it. Any other commit is
described by what it changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from compiler.errors import LlmopsError
from compiler.records import record
from llmops.gitops.history import EndpointChange, EndpointHistory
from llmops.gitops.plumbing import GitRefused, run_git

if TYPE_CHECKING:
    import git

TRAILER_TARGET = "Rollback-Target"
TRAILER_REVERTS = "Reverts"
_TRAILER = re.compile(rf"({TRAILER_TARGET}|{TRAILER_REVERTS}):[ \t]*([0-9a-f]{{40}})[ \t]*")


@record
class RollbackMarks:
    target: str | None  # the revision restored; None: the endpoint was removed
    reverts: tuple[str, ...]


def rollback_marks(commit: git.Commit) -> RollbackMarks | None:
    """The trailers of a rollback commit (in the message's last paragraph), or None for other
    commits."""
    message = (
        commit.message.decode("utf-8", "replace")
        if isinstance(commit.message, bytes)
        else commit.message
    )
    paragraphs = [part for part in re.split(r"\n[ \t]*\n", message.strip()) if part.strip()]
    if len(paragraphs) < 2:
        return None
    target: str | None = None
    reverts: list[str] = []
    for line in paragraphs[-1].splitlines():
        match = _TRAILER.fullmatch(line)
        if match is None:
            continue
        if match.group(1) == TRAILER_TARGET:
            target = match.group(2)
        else:
            reverts.append(match.group(2))
    return RollbackMarks(target, tuple(reverts)) if reverts else None


@record
class MarkedChange:
    change: EndpointChange
    rollback: RollbackMarks | None  # set when this change is a rollback of the endpoint
    # the rollback commit that undid this change (a rollback can be undone too)
    undone_by: str | None

    @property
    def is_version(self) -> bool:
        """A live change of the endpoint's own manifest: what the next rollback steps back over."""
        return self.change.manifest_changed and self.rollback is None and self.undone_by is None


def _is_ancestor(repo: git.Repo, ancestor: str, descendant: str) -> bool:
    """Whether `ancestor` is a commit of `descendant`'s history (false for an unknown object)."""
    try:
        run_git(repo, "merge-base", "--is-ancestor", ancestor, descendant)
    except GitRefused:
        return False
    return True


def trusted_marks(history: EndpointHistory, change: EndpointChange) -> RollbackMarks | None:
    """The commit's rollback trailers, if the commit does what they say (see the module's
    docstring); None for any other commit."""
    marks = rollback_marks(change.commit)
    if marks is None:
        return None
    result = (change.after or {}).get("endpoint")
    if marks.target is None:
        return marks if result is None else None
    repo = history.snapshots.repo
    if marks.target == change.commit.hexsha or not _is_ancestor(
        repo, marks.target, change.commit.hexsha
    ):
        return None
    restored = history.footprint(repo.commit(marks.target))
    return marks if (restored or {}).get("endpoint") == result else None


def marked_changes(
    changes: Iterable[EndpointChange], history: EndpointHistory
) -> Iterator[MarkedChange]:
    """`changes` (newest first) with their rollback marks; see the module's docstring for the
    rule. A rollback that restored a revision undoes every earlier change that revision does not
    contain, not only those it names: after rolling back a merge, the merged branch's own commits
    count as undone too (their change left with the merge)."""
    named: dict[str, str] = {}  # undone, as a rollback's `Reverts` trailers name them
    implied: dict[str, str] = {}  # undone, as not contained in the revision a rollback restored
    repo = history.snapshots.repo
    for change in changes:
        sha = change.commit.hexsha
        marks = trusted_marks(history, change) if change.manifest_changed else None
        # an earlier rollback is undone only when named (`--to` names every change it undoes):
        # one that a deeper rollback merely went past keeps its own marks
        undone_by = named.get(sha) or (implied.get(sha) if marks is None else None)
        if undone_by is not None and not _is_ancestor(repo, sha, undone_by):
            undone_by = None  # named by a rollback on another line of history: not undone by it
        if marks is not None and undone_by is None:
            for reverted in marks.reverts:
                named.setdefault(reverted, sha)
            for reverted in left_behind(change.commit, marks.target):
                if reverted != sha:
                    implied.setdefault(reverted, sha)
        yield MarkedChange(change, marks, undone_by)


def left_behind(head: git.Commit, target: str | None) -> list[str]:
    """The commits of `head`'s history that `target` does not contain (all of them when `target`
    is None: a removed endpoint), newest first: what restoring `target` undoes. Empty when git
    cannot say (a target missing from a shallow clone)."""
    exclude = [f"^{target}"] if target is not None else []
    try:
        listed = run_git(head.repo, "rev-list", "--topo-order", head.hexsha, *exclude, "--")
    except LlmopsError:
        return []
    return listed.split()


def merges_between(head: git.Commit, target: git.Commit | None) -> bool:
    """Whether a merge commit lies in `head`'s history after `target` (then changes of a merged
    branch may be listed anywhere below the merge)."""
    exclude = [f"^{target.hexsha}"] if target is not None else []
    try:
        found = run_git(head.repo, "rev-list", "--merges", "-n1", head.hexsha, *exclude, "--")
    except LlmopsError:
        return True
    return bool(found.strip())
