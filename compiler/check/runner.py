"""Run every check on every environment and turn findings into diagnostics."""

from __future__ import annotations

from dataclasses import replace

from compiler.check.registry import CHECKS
from compiler.check.rule import Finding
from compiler.diagnostics import Assumption, Diagnostic, Related, Rule, Severity, make_diagnostic
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.estate import ResolvedEstate


def finding_to_diagnostic(rule: Rule, finding: Finding, env: ResolvedEnvironment) -> Diagnostic:
    document = finding.manifest.document
    span = finding.span or document.span_of(finding.path, key=finding.key)
    related = tuple(Related(place.manifest.document.span_of(place.path), place.message)
                    for place in finding.related)
    subject = f"{finding.manifest.subject} ({finding.manifest.origin})"
    message, hint = finding.message, finding.hint
    if finding.assumptions:
        message, hint = with_assumptions(message, hint, finding.assumptions)
    diagnostic = make_diagnostic(rule, message, span, path=finding.path, hint=hint, related=related,
                                 subject=subject)
    if finding.assumptions and diagnostic.severity is Severity.ERROR:
        return replace(diagnostic, severity=Severity.WARNING)
    return diagnostic


def with_assumptions(message: str, hint: str | None, assumptions: tuple[Assumption, ...]) -> tuple[str, str]:
    """The message names what was assumed; the hint ends with how to state it."""
    assumed = "; and ".join(assumption.what for assumption in assumptions)
    state = "; ".join(assumption.state_it for assumption in assumptions)
    return f"{message} (assuming {assumed})", f"{hint}; to state what llmops assumed, {state}" if hint else state


def run_checks(estate: ResolvedEstate) -> list[Diagnostic]:
    diagnostics: list[Diagnostic] = []
    for env in estate.environments:
        for check in CHECKS:
            for finding in check(env):
                diagnostics.append(finding_to_diagnostic(check.rule, finding, env))
    return diagnostics
