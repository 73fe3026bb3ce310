"""`llmops approve`: record that someone approved a model manifest, as it is now, for one
environment."""

from __future__ import annotations

import sys

import click

from compiler.diagnostics import Severity
from compiler.errors import LlmopsError
from compiler.load.tree import DirectoryTree
from compiler.pipeline import validate_repository
from compiler.printable import escape_controls
from compiler.spec.formats import is_role_name, is_user_id, role_rule, user_id_rule
from llmops.approvals import approval_exists_elsewhere, approvals_folder, plan_approval
from llmops.cli import exit_codes, options
from llmops.document_text import newline_of, with_newline
from llmops.estate import find_estate_root
from llmops.manifest_files import dump_manifests, write_atomically
from llmops.reporting import print_report
from llmops.write_guard import confined_path


def approve(
    *, model: str, env: str, approver: str, role: str, notes: str | None, repo: str | None
) -> int:
    _refuse_unusable(approver, role)
    root = find_estate_root(repo)
    # before validating: a linked-away folder hides manifests too
    confined_path(root, approvals_folder(env))
    result = validate_repository(DirectoryTree(root), env)
    resolved = result.estate.environments[0]
    if resolved.gaps:  # the model may be defined, or overridden, in what could not be read
        unread = {gap.file for gap in resolved.gaps}
        print_report(
            [
                d
                for d in result.diagnostics
                if d.span.file in unread and d.severity is Severity.ERROR
            ],
            result,
            "text",
            sys.stderr,
        )
        gap = resolved.gaps[0]
        raise LlmopsError(
            f"cannot approve in `{escape_controls(env)}`: {escape_controls(gap.file)} {gap.why}, "
            "so which model manifest the environment deploys is not known",
            hint="fix the problems above, then approve",
        )
    plan = plan_approval(resolved, model, approver, role, notes)
    confined_path(root, plan.path)
    if approval_exists_elsewhere(root, plan):
        raise LlmopsError(
            f"{plan.path} already exists and is not {approver}'s approval of this model",
            hint="move or rename that file first",
        )
    text = dump_manifests([plan.document], header="written by `llmops approve`; commit it")
    if plan.replaces:  # the file's own line endings stay
        existing = (root / plan.path).read_bytes().decode("utf-8", errors="replace")
        text = with_newline(text, newline_of(existing))
    write_atomically(root, plan.path, text)
    print(escape_controls(plan.path))
    return exit_codes.OK


def _refuse_unusable(approver: str, role: str) -> None:
    """Refuse, before anything is read or written, an id or role the Approval's schema would refuse
    (a blank `--by ' '` once counted as a second approver)."""
    if not is_user_id(approver):
        raise LlmopsError(
            f"--by {escape_controls(repr(approver)[:80])}: not usable as an approver",
            hint=f"give {user_id_rule()}",
        )
    if not is_role_name(role):
        raise LlmopsError(
            f"--role {escape_controls(repr(role)[:80])}: not usable as a role",
            hint=f"give {role_rule()}",
        )


command = click.Command(
    "approve",
    callback=approve,
    help="write an Approval of a model for an environment\n\nThe Approval pins the model as it "
    "is now (its digest); its path is printed. Re-running it updates the same person's "
    "approval.\n\n" + options.REPO_HELP,
    params=[
        click.Argument(["model"], metavar="MODEL@VERSION"),
        options.env_option("the environment it is approved for", required=True),
        click.Option(
            ["--by", "approver"], required=True, metavar="WHO", help="the approver's user id"
        ),
        click.Option(["--role"], required=True, metavar="ROLE", help="the approver's role"),
        click.Option(["--notes"], metavar="TEXT", help="why it was approved"),
        options.repo_argument(),
    ],
)
