"""Plan a rollback: the endpoint's manifest as it was at a target revision, written into today's
files.

Only the endpoint's own document changes; other documents in the same files, and other changes made
in the same commits, stay. The plan is validated as a whole estate before anything is written
(by `llmops rollback`, llmops/cli/rollback.py), and committed with the message made here.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from compiler.errors import LlmopsError
from compiler.load.estate import ENVIRONMENTS_DIR, SHARED_ENV
from compiler.load.overlay import OverlayTree
from compiler.load.text import manifest_text
from compiler.printable import escape_controls
from llmops.document_text import append_document, document_count, document_text, replace_document
from llmops.gitops.commits import subject
from llmops.gitops.history import (
    MAX_UNREADABLE_RUN,
    EndpointChange,
    EndpointHistory,
    unknown_endpoint,
)
from llmops.gitops.plumbing import resolve_commit
from llmops.gitops.rollback_marks import (
    TRAILER_REVERTS,
    TRAILER_TARGET,
    left_behind,
    marked_changes,
    merges_between,
)
from llmops.gitops.snapshots import DocumentState, EstateSnapshots, document_digest
from llmops.gitops.tree import GitTree, require_environment

if TYPE_CHECKING:
    import git


@dataclass
class RollbackPlan:
    endpoint: str
    env: str
    head: git.Commit
    target: git.Commit | None  # None: before the endpoint existed
    reverted: list[EndpointChange]
    prefix: str = ""  # the estate's folder in the repository
    removes: bool = False  # the endpoint did not exist at the target
    restored_digest: str | None = None  # of the manifest the environment deploys afterwards
    # estate-relative path -> content
    changes: dict[str, bytes | None] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)  # for people: what happens to which file

    @property
    def tree(self) -> OverlayTree:
        """The estate as the rollback leaves it."""
        return OverlayTree(GitTree(self.head, self.prefix), self.changes)


def _file_text(commit: git.Commit, prefix: str, path: str) -> str | None:
    return manifest_text(GitTree(commit, prefix), path)


def _mirror(path: str, env: str) -> str:
    """The path in `env` that corresponds to a path under _shared."""
    relative = posixpath.relpath(path, f"{ENVIRONMENTS_DIR}/{SHARED_ENV}")
    return f"{ENVIRONMENTS_DIR}/{env}/{relative}"


def _targets(
    history: EndpointHistory, head: git.Commit, steps: int
) -> tuple[git.Commit | None, list[EndpointChange]]:
    """The revision before the endpoint's last `steps` live manifest changes, and those changes.
    Changes earlier rollbacks undid, and those rollbacks, are stepped over (see rollback_marks)."""
    reverted: list[EndpointChange] = []
    rolled_back = counted = 0
    target: git.Commit | None = None
    beyond: set[str] = set()  # what restoring `target` undoes
    for marked in marked_changes(history.changes(head), history):
        if not marked.change.manifest_changed:
            continue
        if not marked.is_version:
            rolled_back += marked.rollback is not None and marked.undone_by is None
            continue
        if counted and marked.change.commit.hexsha in beyond:
            # a merged branch's change, brought in by a merge already stepped over: undone with
            # it, not a step of its own
            reverted.append(marked.change)
            continue
        if counted == steps:
            continue  # reading on only for a merged branch's changes
        reverted.append(marked.change)
        counted += 1
        parents = marked.change.commit.parents
        target = parents[0] if parents else None
        beyond = set(left_behind(head, None if target is None else target.hexsha))
        if counted == steps and not merges_between(head, target):
            break  # no merge in between: nothing below is undone by restoring `target`
    if counted == steps:
        return target, reverted
    where = f"`{history.endpoint}` in {history.env}"
    if not reverted and rolled_back:
        raise LlmopsError(
            f"{where} has no earlier version: its earlier changes have been rolled back already",
            hint="`llmops history` lists them; `--to REV` restores the endpoint as at any revision",
        )
    if not reverted:
        raise LlmopsError(
            f"the manifest of {where} has never changed in the history of HEAD",
            hint="there is nothing to roll back to",
        )
    raise LlmopsError(
        f"{where} has only {counted} change(s) that are not rolled back yet; --steps {steps} "
        "goes back further",
        hint=f"use --steps {counted} or less, or --to REV",
    )


def _reverted_since(
    repo: git.Repo, history: EndpointHistory, head: git.Commit, target: git.Commit
) -> list[EndpointChange]:
    return [
        change
        for change in history.changes(head)
        if change.manifest_changed and not repo.is_ancestor(change.commit, target)
    ]


def plan_rollback(
    repo: git.Repo,
    prefix: str,
    env: str,
    endpoint: str,
    head: git.Commit,
    to: str | None = None,
    steps: int = 1,
) -> RollbackPlan:
    require_environment(head, prefix, env)
    snapshots = EstateSnapshots(repo, prefix)
    history = EndpointHistory(snapshots, env, endpoint)
    key = ("ServingEndpoint", endpoint, None)
    now = snapshots.effective(head, env).get(key)
    if to is not None:
        target: git.Commit | None = resolve_commit(repo, to)
        assert target is not None
        reverted = _reverted_since(repo, history, head, target)
    else:
        if now is None and not any(True for _ in history.changes(head)):
            raise unknown_endpoint(snapshots, head, env, endpoint)
        target, reverted = _targets(history, head, steps)
        # a change after a revision whose manifests could not be read undoes to the version
        # before it: the one that change was made from
        target = _readable(history, target)
    if target is not None and history.unreadable(target) is not None:
        problems = history.unreadable(target) or {}
        path, why = sorted(problems.items())[0]
        raise LlmopsError(
            f"`{endpoint}` cannot be read at {target.hexsha[:12]} ({path}: {why}); rolling back "
            "to it would delete the endpoint",
            hint="`llmops history` lists its versions: give --to one that can be read",
        )
    then = snapshots.effective(target, env).get(key) if target is not None else None
    if now is None and then is None:
        raise unknown_endpoint(snapshots, head, env, endpoint)
    plan = RollbackPlan(endpoint, env, head, target, reverted, prefix)
    plan.restored_digest = None if then is None else then.digest
    at = _at(target, reverted)  # "at <sha>", or "before <sha>" for the root commit's endpoint
    if now is not None and then is not None and now.digest == then.digest:
        if to is None:
            # the changes stepped over add up to nothing: as "no earlier version", a usage error
            raise LlmopsError(
                f"nothing to roll back: `{endpoint}` in {env} is already as it was {at}, before "
                f"its last {steps} change(s) that are not rolled back yet",
                hint="`llmops history` lists its versions; `--steps N` or `--to REV` goes further",
            )
        return plan  # already as the revision asked for: nothing to change
    body = None if then is None else _body_of(then, target, prefix)
    plan.removes = body is None
    if now is None:
        assert then is not None and body is not None
        path = then.file if then.origin == env else _mirror(then.file, env)
        _add_document(plan, head, prefix, path, body)
        assert target is not None
        plan.actions.append(
            f"{path}: restored (the endpoint was deleted after {target.hexsha[:12]})"
        )
    elif now.origin != env:
        if then is None:
            raise LlmopsError(
                f"`{endpoint}` comes from {now.file}, shared by every environment, and did not "
                f"exist {at}; removing it from {env} alone is not possible",
                hint=(
                    "delete it from _shared (it then leaves every environment) with a normal "
                    "commit, or restore a version that existed with --to REV"
                ),
            )
        assert body is not None
        path = _mirror(now.file, env)
        _add_document(plan, head, prefix, path, body)
        plan.actions.append(f"{path}: the endpoint {at}, overriding {now.file} in {env} only")
    else:
        shared = snapshots.folder(head, SHARED_ENV).get(key)
        if body is None and shared is not None:
            # removing the environment's own document would not remove the endpoint: the shared
            # manifest it overrides would be deployed in its place
            raise LlmopsError(
                f"`{endpoint}` did not exist in {env} {at}; removing {now.file} would not remove "
                f"it but deploy the shared {shared.file} in its place, and a shared endpoint "
                f"cannot be removed from {env} alone",
                hint=(
                    "delete it from _shared (it then leaves every environment) with a normal "
                    "commit, or restore a version that existed with --to REV (`llmops history` "
                    "lists them)"
                ),
            )
        text = _file_text(head, prefix, now.file)
        assert text is not None
        updated = replace_document(text, now.index, body, now.file)
        plan.changes[now.file] = updated.encode() if updated.strip() else None
        if body is None:
            plan.actions.append(
                f"{now.file}: "
                + ("deleted" if not updated.strip() else "endpoint removed")
                + f" (it did not exist {at})"
            )
        else:
            plan.actions.append(f"{now.file}: restored as {at}")
    return plan


def _at(target: git.Commit | None, reverted: list[EndpointChange]) -> str:
    """When the restored state was: `at <sha>`, or, for an endpoint the root commit added, `before
    <that commit>`."""
    if target is not None:
        return f"at {target.hexsha[:12]}"
    oldest = reverted[-1].commit.hexsha[:12] if reverted else None
    return f"before {oldest}" if oldest is not None else "at the start of history"


def _body_of(state: DocumentState, commit: git.Commit | None, prefix: str) -> str:
    assert commit is not None
    text = _file_text(commit, prefix, state.file)
    assert text is not None
    return document_text(text, state.index, state.file)


def _add_document(plan: RollbackPlan, head: git.Commit, prefix: str, path: str, body: str) -> None:
    existing = _file_text(head, prefix, path)
    text = (
        body
        if existing is None or document_count(existing, path) == 0
        else append_document(existing, body)
    )
    plan.changes[path] = text.encode()


def check_outcome(plan: RollbackPlan, deployed: Any | None) -> None:
    """`deployed` is the endpoint document the environment has under the plan (None: no endpoint).
    A plan that would deploy anything but what it says (a shared manifest showing through a
    removed override, say) is refused rather than committed under a misleading message."""
    digest = None if deployed is None else document_digest(deployed)
    if digest == plan.restored_digest:
        return
    where = f"`{plan.endpoint}` in {plan.env}"
    if plan.restored_digest is None:
        problem = f"would not remove {where}: another manifest would be deployed in its place"
    elif deployed is None:
        problem = f"would remove {where} instead of restoring it"
    else:
        problem = f"would deploy another manifest of {where} than the one it restores"
    raise LlmopsError(
        f"this rollback {problem}; nothing was changed",
        hint="`llmops history` lists its versions; `--to REV` restores any of them",
    )


def commit_message(plan: RollbackPlan) -> str:
    """Says what was rolled back, to where, and which changes it undoes; trailers carry the
    revisions. Subjects and values from other commits are copied with their control characters
    escaped."""
    target = plan.target
    # the root commit's endpoint has no earlier revision: the state restored is "before" it
    added_by = plan.reverted[-1].commit.hexsha[:12] if plan.reverted else "its first commit"
    where = target.hexsha[:12] if target is not None else f"before {added_by}"
    endpoint, env = escape_controls(plan.endpoint), escape_controls(plan.env)
    lines = [f"Roll back ServingEndpoint {endpoint} in {env} to {where}", ""]
    if plan.removes:
        when = f"at {where}" if target is not None else f"before {added_by}, which added it"
        lines.append(f"Removes the endpoint: it did not exist {when}.")
    elif target is not None:
        lines.append(
            f"Restores the endpoint's manifest as it was at {target.hexsha[:12]} "
            f'("{escape_controls(subject(target))}").'
        )
    if plan.reverted:
        lines.append("Undoes:")
        for change in plan.reverted:
            detail = escape_controls("; ".join(change.lines))
            lines.append(
                f"- {change.commit.hexsha[:12]} {escape_controls(subject(change.commit))}"
                + (f" ({detail})" if detail else "")
            )
    lines.append("")
    if target is not None:
        lines.append(f"{TRAILER_TARGET}: {target.hexsha}")
    lines.extend(f"{TRAILER_REVERTS}: {change.commit.hexsha}" for change in plan.reverted)
    return "\n".join(lines) + "\n"


def _readable(history: EndpointHistory, target: git.Commit | None) -> git.Commit | None:
    """``target``, or its nearest first-parent ancestor where the endpoint's manifests can be
    read (at most `MAX_UNREADABLE_RUN` back)."""
    for _ in range(MAX_UNREADABLE_RUN):
        if target is None or history.unreadable(target) is None or not target.parents:
            break
        target = target.parents[0]
    return target
