"""Reading git objects, with a clear refusal when one is missing.

A shallow clone (`git clone --depth 1`, the default of GitHub Actions' checkout) or a damaged object
store lacks objects that history, rollback and the approval audit read. GitPython then fails deep in
its object reader with a bare ValueError; here that becomes a usage error that says which object is
missing, why it may be, and how to get it.
"""

from __future__ import annotations

import os
import re
from typing import Any

from git.db import GitCmdObjectDB

from compiler.errors import LlmopsError
from llmops.gitops.plumbing import git_words

_MISSING = re.compile(r"could not be resolved|missing|bad object", re.IGNORECASE)


class MissingObject(LlmopsError):
    """A git object the command needs is not in the repository."""


def missing_object(git_dir: str, hexsha: str) -> MissingObject:
    """The error for a missing object: a shallow clone says so and how to fetch the rest."""
    if os.path.isfile(os.path.join(git_dir, "shallow")):
        return MissingObject(
            f"the history is incomplete: this is a shallow clone, and git object "
            f"{hexsha[:12]} (older than its first commit) is not in it",
            hint="fetch the whole history: `git fetch --unshallow` (in GitHub Actions: "
            "actions/checkout with `fetch-depth: 0`)",
        )
    return MissingObject(
        f"the repository is incomplete: git object {hexsha[:12]} is missing",
        hint="`git fsck` lists what is missing; fetch or clone the repository again",
    )


def walk_failed(git_dir: str, stderr: str) -> LlmopsError:
    """The error for a history walk git could not finish (`git rev-list` stops at a missing commit
    or tree), in git's words."""
    words = git_words(stderr.strip().removeprefix("stderr: '").rstrip("'"))  # GitPython's quoting
    if os.path.isfile(os.path.join(git_dir, "shallow")):
        return MissingObject(
            f"the history is incomplete: this is a shallow clone ({words})",
            hint="fetch the whole history: `git fetch --unshallow` (in GitHub Actions: "
            "actions/checkout with `fetch-depth: 0`)",
        )
    return MissingObject(
        f"git cannot walk the history: {words}",
        hint="`git fsck` lists what is missing; fetch or clone the repository again",
    )


class CheckedObjectDB(GitCmdObjectDB):
    """GitPython's object reader (git cat-file), turning a missing object into `MissingObject`."""

    def info(self, binsha: bytes) -> Any:
        try:
            return super().info(binsha)
        except ValueError as error:
            raise self._missing(binsha, error) from None

    def stream(self, binsha: bytes) -> Any:
        try:
            return super().stream(binsha)
        except ValueError as error:
            raise self._missing(binsha, error) from None

    def _missing(self, binsha: bytes, error: ValueError) -> Exception:
        if not _MISSING.search(str(error)):
            return error
        # the object store is <git dir>/objects (the shared one, for a worktree)
        git_dir = os.path.dirname(os.path.abspath(str(self.root_path())).rstrip(os.sep))
        return missing_object(git_dir, binsha.hex())
