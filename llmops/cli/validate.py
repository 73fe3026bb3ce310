"""`llmops validate`: check an estate like a compiler and report every problem."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from compiler.diagnostics import Diagnostic, Severity
from compiler.load.tree import DirectoryTree
from compiler.pipeline import ValidationResult, validate_repository
from llmops.cli import exit_codes, options
from llmops.estate import find_estate_root
from llmops.reporting import print_report
from llmops.warm.memo import kept_sources


def promote_warnings(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    from dataclasses import replace

    return [
        replace(d, severity=Severity.ERROR) if d.severity is Severity.WARNING else d
        for d in diagnostics
    ]


def audit_diagnostics(root: Path, result: ValidationResult) -> list[Diagnostic]:
    """The approval audit: attach git authorship to every environment, then run the G rules."""
    from compiler.check.audit import CHECKS
    from compiler.check.runner import finding_to_diagnostic
    from llmops.gitops.audit import environment_provenance
    from llmops.gitops.commits import current_commit
    from llmops.gitops.snapshots import EstateSnapshots
    from llmops.gitops.tree import open_repository

    repo, prefix = open_repository(root)
    head = current_commit(repo)
    snapshots = EstateSnapshots(repo, prefix)
    diagnostics: list[Diagnostic] = []
    for env in result.estate.environments:
        env.provenance = environment_provenance(snapshots, head, env, from_working_tree=True)
        for check in CHECKS:
            diagnostics.extend(
                finding_to_diagnostic(check.rule, finding, env) for finding in check(env)
            )
    return diagnostics


def validate(
    *,
    repo: str | None,
    env: str | None,
    output_format: str,
    warnings_as_errors: bool,
    audit: bool = False,
) -> int:
    root = find_estate_root(repo)
    result = validate_repository(DirectoryTree(root), env, sources=kept_sources())
    if audit:
        result.add_audit(audit_diagnostics(root, result))
    diagnostics = promote_warnings(result.diagnostics) if warnings_as_errors else result.diagnostics
    print_report(diagnostics, result, output_format, sys.stdout)
    failed = any(d.severity is Severity.ERROR for d in diagnostics)
    return exit_codes.FAILED if failed else exit_codes.OK


def validate_parameters() -> list[click.Parameter]:
    """What `llmops validate` and `llmops audit` both take."""
    return [
        options.repo_argument(),
        options.env_option("only this environment (plus _shared)"),
        options.format_option(options.REPORT_FORMATS, envvar=options.FORMAT_VARIABLE),
        click.Option(["--warnings-as-errors"], is_flag=True, help="fail on warnings too"),
    ]


command = click.Command(
    "validate",
    callback=validate,
    help="check manifests: schemas, references, approvals, policy\n\nExit 0: no errors (warnings "
    "allowed); 1: errors; 2: usage error or unreadable repository; 3: a bug in llmops.\n\n"
    + options.REPO_HELP,
    params=[
        *validate_parameters(),
        click.Option(
            ["--audit"],
            is_flag=True,
            help="also audit approvals against git history (rules G001-G004)",
        ),
    ],
)
