"""The git binary, for what must agree with git exactly: resolving revisions, checking branch names,
building commits in a private index, and moving the checkout and a branch.

GitPython parses revisions and writes the index on its own, and gets both subtly wrong (revisions it
cannot parse crash; an index it rewrites keeps a stale cached tree, so the next `git commit` undoes
the change). Whatever git refuses here becomes a usage error in git's own words.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from typing import TYPE_CHECKING

from compiler.errors import LlmopsError
from compiler.printable import escape_controls, shown_argument

if TYPE_CHECKING:
    import git


class GitRefused(LlmopsError):
    """git said no; `words` is what it said (without `fatal:`/`error:` and its advice lines)."""

    def __init__(self, message: str, words: str, *, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.words = words


def git_words(stderr: str) -> str:
    """git's complaint on one line: its `fatal:`/`error:` lines without the prefix, advice
    dropped."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    complaints = [
        line.split(":", 1)[1].strip() for line in lines if line.startswith(("fatal:", "error:"))
    ] or lines[:1]
    return escape_controls("; ".join(dict.fromkeys(complaints)) or "git failed without a message")


def _executable() -> str:
    import git

    return str(git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git")


def run_git(
    repo: git.Repo,
    *args: str,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    what: str | None = None,
) -> str:
    """Run `git ARGS` in the repository's working tree; stdout as text, or GitRefused in git's
    words. `what` (for people: "cannot roll back") opens the error message."""
    if any("\0" in arg for arg in args):
        raise LlmopsError(f"{what or 'git'}: an argument contains a NUL character")
    cwd = str(repo.working_tree_dir or repo.git_dir)
    completed = subprocess.run(
        [_executable(), *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        check=False,
        env={**os.environ, **env} if env else None,
    )
    if completed.returncode != 0:
        words = git_words(completed.stderr.decode("utf-8", "replace"))
        hint = (
            "another git command is running here, or one ended without cleaning up: once none "
            "runs, remove the index.lock file it names"
            if "index.lock" in words and "exists" in words
            else None
        )
        raise GitRefused(
            f"{what}: {words}" if what else f"git {args[0]}: {words}", words, hint=hint
        )
    return completed.stdout.decode("utf-8", "replace")


def resolve_commit(repo: git.Repo, revision: str) -> git.Commit:
    """The commit `revision` names, as git resolves it (`HEAD~2`, `main@{1}`, `:/subject`, a
    tag...); anything git cannot resolve to one commit is a usage error in git's words."""
    shown = shown_argument(revision)
    hint = "give a commit, branch or tag that `git rev-parse --verify REV^{commit}` accepts"
    if not revision.strip() or revision != revision.strip() or any(c in revision for c in "\0\n\r"):
        raise LlmopsError(f"`{shown}` is not a revision", hint=hint)
    try:
        # rev-list says best what is wrong with a name (`bad revision 'x'`, `bad object 000...`);
        # rev-parse then insists on exactly one commit (not a tree, a blob or a range).
        run_git(repo, "rev-list", "-n1", "--no-walk", "--end-of-options", revision, "--")
        named = run_git(repo, "rev-parse", "--verify", "--end-of-options", revision).strip()
        sha = run_git(repo, "rev-parse", "--verify", f"{named}^{{commit}}").strip()
    except GitRefused as refused:
        if os.path.isfile(os.path.join(repo.git_dir, "shallow")):
            # CI's usual checkout: one commit, one branch; `HEAD~5` or `origin/main` is not there
            hint = (
                f"this is a shallow clone, which may not hold `{shown}`: fetch the whole history "
                "with `git fetch --unshallow` (in GitHub Actions: actions/checkout with "
                "`fetch-depth: 0`)"
            )
        words = refused.words if len(refused.words) <= 240 else refused.words[:239] + "…"
        raise LlmopsError(f"unknown revision `{shown}`: {words}", hint=hint) from None
    return repo.commit(sha)
