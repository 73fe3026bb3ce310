"""Run every check on every environment and turn findings into diagnostics."""

from __future__ import annotations

from dataclasses import dataclass, replace

from compiler.check.registry import CHECKS
from compiler.check.rule import Finding
from compiler.diagnostics import Assumption, Diagnostic, Related, Rule, Severity, make_diagnostic
from compiler.load.rules import CHECKS_SKIPPED
from compiler.positions import Span
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.estate import ResolvedEstate
from compiler.resolve.gaps import Gap, describe_kinds


@dataclass(frozen=True)
class Attributed:
    """A diagnostic and where it belongs, for the rule settings and suppressions applied after the
    checks: the environment whose check reported it (None: the file's environments) and a place
    inside the document it is about (its own place, unless that lies in another file, such as a
    dataset's sample file)."""

    diagnostic: Diagnostic
    environment: str | None
    document: Span


def attributed(diagnostic: Diagnostic, finding: Finding, env: ResolvedEnvironment) -> Attributed:
    document = finding.manifest.document
    if diagnostic.span.file == document.file:
        return Attributed(diagnostic, env.name, diagnostic.span)
    return Attributed(diagnostic, env.name, document.start)


def finding_to_diagnostic(rule: Rule, finding: Finding, env: ResolvedEnvironment) -> Diagnostic:
    document = finding.manifest.document
    span = finding.span or document.span_of(finding.path, key=finding.key)
    related = tuple(
        Related(place.manifest.document.span_of(place.path), place.message)
        for place in finding.related
    )
    subject = f"{finding.manifest.subject} ({finding.manifest.origin})"
    message, hint = finding.message, finding.hint
    if finding.assumptions:
        message, hint = with_assumptions(message, hint, finding.assumptions)
    diagnostic = make_diagnostic(
        rule, message, span, path=finding.path, hint=hint, related=related, subject=subject
    )
    if finding.assumptions and diagnostic.severity is Severity.ERROR:
        return replace(diagnostic, severity=Severity.WARNING)
    return diagnostic


def with_assumptions(
    message: str, hint: str | None, assumptions: tuple[Assumption, ...]
) -> tuple[str, str]:
    """The message names what was assumed; the hint ends with how to state it."""
    assumed = "; and ".join(assumption.what for assumption in assumptions)
    state = "; ".join(assumption.state_it for assumption in assumptions)
    return (
        f"{message} (assuming {assumed})",
        f"{hint}; to state what llmops assumed, {state}" if hint else state,
    )


class _Skipped:
    """Which checks each gap made skip in which environments, for one note per gap."""

    def __init__(self) -> None:
        self.codes: dict[Gap, dict[str, list[str]]] = {}  # gap -> environment -> codes
        self.unchecked: dict[Gap, list[str]] = {}  # gap -> environments whose settings it may hold

    def add(self, gap: Gap, env: str, code: str) -> None:
        self.codes.setdefault(gap, {}).setdefault(env, []).append(code)

    def notes(self) -> list[Diagnostic]:
        hint = "fix the problem reported in this file; then every check runs"
        notes = [
            make_diagnostic(
                CHECKS_SKIPPED,
                f"environment `{env}` was checked only against the schemas: its "
                f"settings may be in this file, which {gap.why}",
                Span(gap.file, gap.line, 1),
                hint=hint,
            )
            for gap, envs in self.unchecked.items()
            for env in envs
        ]
        for gap, by_env in self.codes.items():
            codes = sorted({code for env_codes in by_env.values() for code in env_codes})
            envs = ", ".join(f"`{env}`" for env in by_env)
            noun = "environment" if len(by_env) == 1 else "environments"
            they = "it needs" if len(codes) == 1 else "they need"
            notes.append(
                make_diagnostic(
                    CHECKS_SKIPPED,
                    f"{', '.join(codes)} not checked in {noun} {envs}: {they} every "
                    f"{describe_kinds(gap.kinds)} there, and this file may hold more but {gap.why}",
                    Span(gap.file, gap.line, 1),
                    hint=hint,
                )
            )
        return notes


def run_checks(estate: ResolvedEstate) -> list[Diagnostic]:
    """Every check's findings, except where a file that could not be read may change the verdict:
    then the findings are withheld (they may be false) and a note says which checks stood aside."""
    return [found.diagnostic for found in check_estate(estate)]


def check_estate(estate: ResolvedEstate) -> list[Attributed]:
    """`run_checks`, each diagnostic with the environment that reported it."""
    diagnostics: list[Attributed] = []
    skipped = _Skipped()
    for env in estate.environments:
        for check in CHECKS:
            findings = list(check(env))
            if not findings:
                continue
            # every check may rest on the settings: none can be trusted
            if env.settings_gap is not None:
                if env.name not in skipped.unchecked.get(env.settings_gap, []):
                    skipped.unchecked.setdefault(env.settings_gap, []).append(env.name)
                continue
            gaps = env.gaps_holding(check.needs)
            for gap in gaps:
                skipped.add(gap, env.name, check.rule.code)
            if not gaps:
                diagnostics.extend(
                    attributed(finding_to_diagnostic(check.rule, finding, env), finding, env)
                    for finding in findings
                )
    return diagnostics + [Attributed(note, None, note.span) for note in skipped.notes()]
