"""`llmops promote`: prepare a promotion as a new branch with one commit; the checkout is not
touched."""

from __future__ import annotations

import posixpath
import sys

import click

from compiler.diagnostics import Diagnostic, Severity
from compiler.errors import LlmopsError
from compiler.load.overlay import OverlayTree
from compiler.load.text import manifest_text
from compiler.pipeline import ValidationResult, collector_paused, validate_repository
from compiler.printable import escape_controls
from llmops.cli import exit_codes, options
from llmops.estate import find_estate_root
from llmops.gitops.promotion_plan import (
    APPROVAL_RULES,
    approvals_needed,
    commit_message,
    plan_promotion,
)
from llmops.reporting import print_report
from llmops.write_guard import confined_path


def promote(
    *, endpoint: str, source: str, target: str, repo: str | None, branch: str | None
) -> int:
    with collector_paused():
        return _promote(repo=repo, endpoint=endpoint, source=source, target=target, branch=branch)


def _errors(result: ValidationResult) -> list[Diagnostic]:
    return [d for d in result.diagnostics if d.severity is Severity.ERROR]


def _refuse(message: str, diagnostics: list[Diagnostic], result: ValidationResult) -> int:
    print(f"llmops: {message}; nothing was created", file=sys.stderr)
    print_report(diagnostics, result, "text", sys.stderr)
    return exit_codes.FAILED


def _promote(
    *, repo: str | None, endpoint: str, source: str, target: str, branch: str | None
) -> int:
    from llmops.gitops.commits import build_commit, create_branch, current_commit
    from llmops.gitops.promotion_gate import follower_notes, split_target_errors
    from llmops.gitops.tree import GitTree, open_repository

    if source == target:
        raise LlmopsError("--from and --to name the same environment")
    root = find_estate_root(repo)
    git_repo, prefix = open_repository(root)
    head = current_commit(git_repo)
    tree = GitTree(head, prefix)
    shown = {name: escape_controls(name) for name in (endpoint, source, target)}
    before = {name: validate_repository(tree, name) for name in (source, target)}
    if _errors(before[source]):
        return _refuse(
            f"{shown[source]} has {len(_errors(before[source]))} error(s) at HEAD; fix them "
            "before promoting from it",
            _errors(before[source]),
            before[source],
        )
    plan = plan_promotion(
        before[source].estate.environments[0],
        before[target].estate.environments[0],
        endpoint,
        lambda path: manifest_text(tree, path),
    )
    if not plan.files:
        print(
            f"nothing to promote: {shown[target]} already runs `{shown[endpoint]}` as "
            f"{shown[source]} does"
        )
        return exit_codes.OK
    branch_name = branch if branch is not None else f"promote/{endpoint}-{source}-to-{target}"
    changes = {path: text.encode() for path, text in plan.files.items()}
    for path in changes:
        confined_path(root, path)  # where the branch's checkout will write
    after = validate_repository(OverlayTree(tree, changes), target)
    # errors the target has at HEAD do not refuse a promotion that removes them (a prod that may
    # not serve what stg no longer serves is fixed by promoting what stg serves)
    at_head = split_target_errors(before[target], after)
    if at_head.kept:
        return _refuse(
            f"{shown[target]} has {len(at_head.kept)} error(s) at HEAD that this promotion does "
            "not fix; fix them before promoting into it",
            at_head.kept,
            before[target],
        )
    target_env = after.estate.environments[0]
    needed = {
        model_id: approvals_needed(target_env, model_id)
        for model_id in (plan.model_id, *plan.adapter_ids)
    }
    missing_any = any(missing for missing, _ in needed.values())
    blocking = [d for d in _errors(after) if d.code not in APPROVAL_RULES or not missing_any]
    if blocking:
        return _refuse(
            f"{shown[target]}'s policy forbids the promoted result ({len(blocking)} error(s) that "
            "approvals do not fix)",
            blocking,
            after,
        )
    commit = build_commit(
        git_repo,
        head,
        {posixpath.join(prefix, p) if prefix else p: c for p, c in changes.items()},
        commit_message(plan, head.hexsha),
    )
    create_branch(git_repo, branch_name, commit)
    print(
        f"created branch {escape_controls(branch_name)} at {commit.hexsha[:12]} (not pushed; your "
        "checkout is unchanged)"
    )
    for action in plan.actions:
        print(f"  {escape_controls(action)}")
    if at_head.fixed:
        fixed = ", ".join(sorted({d.code for d in at_head.fixed}))
        print(f"  fixes {len(at_head.fixed)} error(s) {shown[target]} has at HEAD ({fixed})")
    settings = target_env.settings.approval
    role = settings.roles[0] if len(settings.roles) == 1 else f"<{' | '.join(settings.roles)}>"
    for model_id, (missing, approvers) in needed.items():
        if not missing:
            continue
        already = f" (approved so far by {', '.join(approvers)})" if approvers else ""
        print(
            escape_controls(
                f"\n{target} needs {missing} more approval(s) of {model_id}{already}; each "
                f"approver runs, on the branch:\n  git switch {branch_name}\n"
                f"  llmops approve {model_id} --env {target} --by <user-id> --role {role}",
                keep_newlines=True,
            )
        )
    whole_after = validate_repository(OverlayTree(tree, changes))
    follows = any(
        env.settings.promotion.requires == target for env in whole_after.estate.environments
    )
    whole_before = validate_repository(tree) if follows else whole_after
    for note in follower_notes(target, whole_before, whole_after):
        for endpoint_name, identity in note.stale:
            print(
                escape_controls(
                    f"\nnote: {note.name} requires {target} (promotion.requires) and serves "
                    f"{identity} on `{endpoint_name}`, which {target} will no longer serve: "
                    f"{note.name} may keep it while {target} approves it; once this branch is "
                    f"merged, promote on:\n  llmops promote {endpoint_name} --from {target} "
                    f"--to {note.name}",
                    keep_newlines=True,
                )
            )
        if note.new_errors:
            print(
                f"\nwarning: once merged, this promotion gives {escape_controls(note.name)} "
                f"{len(note.new_errors)} error(s):",
                file=sys.stderr,
            )
            print_report(note.new_errors, whole_after, "text", sys.stderr)
    return exit_codes.OK


command = click.Command(
    "promote",
    callback=promote,
    help="prepare a branch promoting an endpoint to another environment\n\nOne commit copying "
    "the endpoint, and what it needs that the target lacks, keeping the target's replicas, GPUs "
    "and roles. The checkout is not touched; nothing is pushed.\n\n" + options.REPO_HELP,
    params=[
        options.endpoint_argument(),
        click.Option(
            ["--from", "source"],
            required=True,
            metavar="ENV",
            help="the environment it runs in",
            shell_complete=options.complete_environments,
        ),
        click.Option(
            ["--to", "target"],
            required=True,
            metavar="ENV",
            help="the environment to promote it to",
            shell_complete=options.complete_environments,
        ),
        options.repo_argument(),
        click.Option(["--branch"], metavar="NAME", help="default: promote/ENDPOINT-FROM-to-TO"),
    ],
)
