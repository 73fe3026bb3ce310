"""Which branch names llmops creates: what `git check-ref-format --branch` accepts, less the names
git reads as something else.

`refs/heads/HEAD` is a valid reference, but afterwards every `git` command warns or picks the wrong
one; `@{-1}` is the previous branch, `-x` an option, `FETCH_HEAD` a pseudo-reference, `tags/v1` a
tag's short name, forty hex digits a commit id, and seven or more an abbreviated one. A name that
`git rev-parse` already resolves (an existing tag, remote-tracking branch, `stash`, an object's
abbreviated id), or whose first part names a remote (`origin/main` would shadow the remote-tracking
branch), would be ambiguous from the moment the branch exists.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from compiler.errors import LlmopsError
from compiler.printable import escape_controls, shown_argument
from llmops.gitops.plumbing import GitRefused, run_git

if TYPE_CHECKING:
    import git

_PSEUDO_REFERENCE = re.compile(r"[A-Z_]+")  # HEAD, FETCH_HEAD, ORIG_HEAD, MERGE_HEAD, AUTO_MERGE...
_OBJECT_ID = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")
_ABBREVIATED_ID = re.compile(r"[0-9a-fA-F]{7,}")  # git abbreviates ids to seven digits or more
_RESERVED = frozenset({"stash"})  # refs/stash: `git stash`'s reflog, read by that short name
_SHADOWED_PREFIXES = ("refs", "heads", "tags", "remotes")  # git's short-name rules look there first
_HINT = (
    "a branch name like promote/chat-stg-to-prod: no spaces, `..`, `~^:?*[\\`, leading `-` or `/`"
)


def special_name_reason(name: str) -> str | None:
    """Why git would read `name` as something other than a new branch, or None."""
    if not name:
        return "it is empty"
    if name.startswith("-"):
        return "it starts with `-`, which git reads as an option"
    if name.startswith("@") or "@{" in name:
        return "git reads `@` as HEAD and `@{...}` as a reflog or previous-branch selector"
    if _PSEUDO_REFERENCE.fullmatch(name) or name.rsplit("/", 1)[-1] == "HEAD":
        return (
            "git treats HEAD and all-capital names such as FETCH_HEAD, ORIG_HEAD and MERGE_HEAD "
            "specially"
        )
    if name.split("/", 1)[0] in _SHADOWED_PREFIXES:
        return f"`{name.split('/', 1)[0]}/...` would be read as another kind of reference"
    if _OBJECT_ID.fullmatch(name):
        return "it looks like a commit id"
    if _ABBREVIATED_ID.fullmatch(name):
        return "it looks like an abbreviated commit id"
    if name in _RESERVED:
        return f"git reads `{name}` as the stash"
    return None


def _ambiguity_reason(repo: git.Repo, name: str) -> str | None:
    """Why `name` would be ambiguous in this repository: a remote of that first part, or something
    git already resolves by that name (an existing branch is left to the caller to report)."""
    first = name.split("/", 1)[0]
    remotes = run_git(repo, "remote").split()
    if first in remotes:
        return f"`{escape_controls(first)}` is a remote, so git would confuse it with its branches"
    if run_git(repo, "for-each-ref", "--count=1", f"refs/heads/{name}").strip():
        return None
    try:
        sha = run_git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", name).strip()
    except GitRefused:
        return None
    return f"git already reads it as {sha[:12]} (an existing reference or object)" if sha else None


def check_branch_name(repo: git.Repo, name: str) -> None:
    """Refuse, as a usage error, a name git refuses or would read as something else."""
    shown = shown_argument(name)
    reason = special_name_reason(name)
    if reason is None and "\0" in name:
        reason = "it contains a NUL character"
    if reason is None and any(ord(character) < 32 or ord(character) == 127 for character in name):
        # git refuses it too, but quotes it raw: its explanation broke off at the line break
        reason = "it contains a control character (a line break, a tab)"
    if reason is None:
        try:
            normalized = run_git(repo, "check-ref-format", "--branch", name).rstrip("\n")
        except GitRefused as refused:
            reason = refused.words
        else:
            if normalized != name:
                reason = f"git reads it as `{escape_controls(normalized)}`"
    if reason is None and run_git(repo, "for-each-ref", "--count=1", f"refs/tags/{name}").strip():
        reason = "a tag of that name exists"
    if reason is None:
        reason = _ambiguity_reason(repo, name)
    if reason is not None:
        raise LlmopsError(f"`{shown}` is not a valid branch name: {reason}", hint=_HINT)
