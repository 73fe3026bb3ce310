"""`llmops validate`: check an estate like a compiler and report every problem."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

from compiler.diagnostics import Diagnostic, Severity
from compiler.load.tree import DirectoryTree
from compiler.pipeline import ValidationResult, validate_repository
from compiler.report.base import ReportContext, get_formatter
from llmops import __version__
from llmops.cli import exit_codes
from llmops.cli.repo import find_estate_root


def use_color(stream: TextIO) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    return stream.isatty() and "NO_COLOR" not in os.environ


def promote_warnings(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    from dataclasses import replace

    return [
        replace(d, severity=Severity.ERROR) if d.severity is Severity.WARNING else d
        for d in diagnostics
    ]


def report_context(result: ValidationResult, color: bool) -> ReportContext:
    from compiler.check.registry import RULES_BY_CODE

    return ReportContext(
        sources=result.sources,
        files_checked=len(result.loaded.files),
        environments=tuple(result.loaded.environments),
        tool_version=__version__,
        color=color,
        rules=RULES_BY_CODE,
        suppressed=tuple(result.suppressed),
    )


def print_report(
    diagnostics: list[Diagnostic], result: ValidationResult, output_format: str, stream: TextIO
) -> None:
    formatter = get_formatter(output_format)
    stream.write(
        formatter(
            diagnostics, report_context(result, use_color(stream) and output_format == "text")
        )
    )


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
    repo: str | None,
    env: str | None,
    output_format: str,
    warnings_as_errors: bool,
    audit: bool = False,
) -> int:
    root = find_estate_root(repo)
    result = validate_repository(DirectoryTree(root), env)
    if audit:
        result.add_audit(audit_diagnostics(root, result))
    diagnostics = promote_warnings(result.diagnostics) if warnings_as_errors else result.diagnostics
    print_report(diagnostics, result, output_format, sys.stdout)
    failed = any(d.severity is Severity.ERROR for d in diagnostics)
    return exit_codes.FAILED if failed else exit_codes.OK
