"""Run every check on every environment and turn findings into diagnostics."""

from __future__ import annotations

from compiler.check.registry import CHECKS
from compiler.check.rule import Finding
from compiler.diagnostics import Diagnostic, Related, Rule, make_diagnostic
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.estate import ResolvedEstate


def finding_to_diagnostic(rule: Rule, finding: Finding, env: ResolvedEnvironment) -> Diagnostic:
    document = finding.manifest.document
    span = finding.span or document.span_of(finding.path, key=finding.key)
    related = tuple(Related(place.manifest.document.span_of(place.path), place.message)
                    for place in finding.related)
    subject = f"{finding.manifest.subject} ({finding.manifest.origin})"
    return make_diagnostic(rule, finding.message, span, path=finding.path, hint=finding.hint,
                           related=related, subject=subject)


def run_checks(estate: ResolvedEstate) -> list[Diagnostic]:
    diagnostics: list[Diagnostic] = []
    for env in estate.environments:
        for check in CHECKS:
            for finding in check(env):
                diagnostics.append(finding_to_diagnostic(check.rule, finding, env))
    return diagnostics
