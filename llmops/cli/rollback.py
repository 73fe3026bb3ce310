"""`llmops rollback`: one new commit that puts an endpoint's manifest back as it was; history is
kept."""

from __future__ import annotations

import posixpath
import sys
from typing import TYPE_CHECKING

import click

from compiler.diagnostics import Severity
from compiler.diff.changes import diff_estates
from compiler.diff.formats import FORMATTERS
from compiler.errors import LlmopsError
from compiler.pipeline import ValidationResult, collector_paused, validate_repository
from compiler.printable import escape_controls
from compiler.render.estate import render_estate
from llmops.cli import exit_codes, options
from llmops.estate import find_estate_root
from llmops.reporting import print_report
from llmops.write_guard import confined_path

if TYPE_CHECKING:
    from llmops.gitops.rollback_plan import RollbackPlan


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
    *, endpoint: str, env: str, repo: str | None, to: str | None, steps: int | None, dry_run: bool
) -> int:
    if to is not None and steps is not None:
        raise LlmopsError("give either --to REV or --steps N, not both")
    with collector_paused():
        return _rollback(
            repo=repo,
            endpoint=endpoint,
            env=env,
            to=to,
            steps=1 if steps is None else steps,
            dry_run=dry_run,
        )


def _rollback(
    *, repo: str | None, endpoint: str, env: str, to: str | None, steps: int, dry_run: bool
) -> int:
    from llmops.gitops.commits import advance_branch, build_commit, current_branch, require_clean
    from llmops.gitops.rollback_plan import check_outcome, commit_message, plan_rollback
    from llmops.gitops.tree import open_repository

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


command = click.Command(
    "rollback",
    callback=rollback,
    help="commit an endpoint's manifest as it was before its last change\n\nOne new commit on the "
    "current branch; history is kept. Changes earlier rollbacks undid are stepped over, so a "
    "second rollback goes one version further back.\n\n" + options.REPO_HELP,
    params=[
        options.endpoint_argument(),
        options.env_option("the environment", required=True),
        options.repo_argument(),
        click.Option(["--to"], metavar="REV", help="restore the endpoint as it was at REV"),
        click.Option(
            ["--steps"],
            type=options.WholeNumber(),
            metavar="N",
            help="undo the endpoint's last N manifest changes (default: 1)",
        ),
        click.Option(["--dry-run"], is_flag=True, help="show what would change; commit nothing"),
    ],
)
