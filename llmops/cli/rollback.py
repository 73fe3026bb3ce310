"""`llmops rollback`: one new commit that puts an endpoint's manifest back as it was; history is
kept."""

from __future__ import annotations

import posixpath
import sys
from typing import TYPE_CHECKING

from compiler.diagnostics import Severity
from compiler.diff import diff_estates
from compiler.diff_format import FORMATTERS
from compiler.pipeline import ValidationResult, collector_paused, validate_repository
from compiler.printable import escape_controls
from compiler.render.estate import render_estate
from llmops.cli import exit_codes
from llmops.cli.repo import find_estate_root
from llmops.cli.validate import print_report
from llmops.gitops.commits import subject
from llmops.gitops.rollback_marks import TRAILER_REVERTS, TRAILER_TARGET
from llmops.write_guard import confined_path

if TYPE_CHECKING:
    from llmops.rollback import RollbackPlan


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


def _rendered_diff(plan: RollbackPlan, after: ValidationResult) -> str | None:
    from llmops.gitops.tree import GitTree

    before = validate_repository(GitTree(plan.head, plan.prefix), plan.env)
    if before.error_count:
        return None
    sides = [
        (result.estate, render_estate(result.estate, include_argocd=False))
        for result in (before, after)
    ]
    return FORMATTERS["text"](diff_estates(sides[0], sides[1]))


def rollback(
    repo: str | None, endpoint: str, env: str, to: str | None, steps: int, dry_run: bool
) -> int:
    with collector_paused():
        return _rollback(repo, endpoint, env, to, steps, dry_run)


def _rollback(
    repo: str | None, endpoint: str, env: str, to: str | None, steps: int, dry_run: bool
) -> int:
    from llmops.gitops.commits import advance_branch, build_commit, current_branch, require_clean
    from llmops.gitops.tree import open_repository
    from llmops.rollback import check_outcome, plan_rollback

    root = find_estate_root(repo)
    git_repo, prefix = open_repository(root)
    branch = current_branch(git_repo)
    if not dry_run:
        require_clean(git_repo, prefix)
    plan = plan_rollback(git_repo, prefix, env, endpoint, branch.commit, to=to, steps=steps)
    shown, shown_env = escape_controls(endpoint), escape_controls(env)
    if not plan.changes:
        where = plan.target.hexsha[:12] if plan.target is not None else "the start of history"
        print(f"nothing to roll back: `{shown}` in {shown_env} is already as it was at {where}")
        return exit_codes.OK
    result = validate_repository(plan.tree, env)
    if result.error_count:
        print(
            f"llmops: rolling back `{shown}` would leave {shown_env} with {result.error_count} "
            "error(s); nothing was changed",
            file=sys.stderr,
        )
        print_report(
            [d for d in result.diagnostics if d.severity is Severity.ERROR],
            result,
            "text",
            sys.stderr,
        )
        return exit_codes.FAILED
    deployed = result.estate.environments[0].resolve_named("ServingEndpoint", endpoint).manifest
    check_outcome(plan, None if deployed is None else deployed.document.data)
    rendered = _rendered_diff(plan, result)
    if dry_run:
        _print_actions(plan)
        print(f"dry run: nothing committed. The commit would be:\n\n{commit_message(plan)}")
    else:
        for path in plan.changes:
            confined_path(root, path)
        changes = {
            posixpath.join(prefix, path) if prefix else path: content
            for path, content in plan.changes.items()
        }
        commit = build_commit(git_repo, plan.head, changes, commit_message(plan))
        advance_branch(
            git_repo, branch, commit, changes, logmsg=f"llmops rollback {shown} --env {shown_env}"
        )
        _print_actions(plan)
        print(
            f"rolled back `{shown}` in {shown_env}: new commit {commit.hexsha[:12]} on "
            f"{escape_controls(branch.name)} (not pushed)"
        )
    if rendered is None:
        print("(HEAD does not validate, so there is no rendered diff)")
    else:
        sys.stdout.write(rendered)
    return exit_codes.OK


def _print_actions(plan: RollbackPlan) -> None:
    for action in plan.actions:
        print(f"  {escape_controls(action)}")
