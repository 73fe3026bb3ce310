"""Run every check on every environment and turn findings into diagnostics."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any, Protocol

from compiler.check.registry import CHECKS
from compiler.check.rule import CheckFunction, Finding
from compiler.diagnostics import Assumption, Diagnostic, Related, Rule, Severity, make_diagnostic
from compiler.load.rules import CHECKS_SKIPPED
from compiler.positions import Span
from compiler.records import record
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.estate import ResolvedEstate
from compiler.resolve.gaps import Gap, describe_kinds
from compiler.resolve.peers import noting_peers
from compiler.spelling import CHECK_BUDGET, suggestion_budget


@record
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


class KnownChecks(Protocol):
    """What checks reported in an environment before (the edge keeps it, llmops/render_cache.py):
    a check is a function of its environment (its manifests and `_shared`'s), of the peers it
    reads and of the files it asks for; one known to report the same with the same of all three
    is not run again."""

    def lookup(self, env: ResolvedEnvironment) -> dict[str, list[Attributed]]:
        """What each check known in ``env`` as it is now (`check_id`) reported (empty: nothing)."""
        ...

    def checking(self, env: ResolvedEnvironment, check: str) -> AbstractContextManager[Any]:
        """Entered while ``check`` runs on ``env``: what it asks the repository then is its own."""
        ...

    def store(self, env: ResolvedEnvironment, ran: dict[str, CheckRun]) -> None:
        """What the checks that ran reported, each with the peers it read."""
        ...


@record(eq=False, repr=False)
class CheckRun:
    """What one check reported in one environment (before the gaps are weighed) and the names of
    the peers it read."""

    peers: frozenset[str]
    reported: list[Attributed]


def check_id(index: int, check: CheckFunction) -> str:
    return f"{index}:{check.rule.code}"


def check_estate(estate: ResolvedEstate, known: KnownChecks | None = None) -> list[Attributed]:
    """`run_checks`, each diagnostic with the environment that reported it. ``known`` spares the
    checks whose report is known (the result is the same without it)."""
    diagnostics: list[Attributed] = []
    skipped = _Skipped()
    for env in estate.environments:
        before = known.lookup(env) if known is not None else {}
        ran: dict[str, CheckRun] = {}
        for index, check in enumerate(CHECKS):
            name = check_id(index, check)
            findings: list[Finding] = []
            reported = before.get(name)
            seen: set[str] = set()
            if reported is None:
                if known is None:
                    with suggestion_budget(CHECK_BUDGET):
                        findings = list(check(env))
                else:
                    with (
                        known.checking(env, name),
                        noting_peers(seen),
                        suggestion_budget(CHECK_BUDGET),
                    ):
                        findings = list(check(env))
                if not findings and known is not None:
                    ran[name] = CheckRun(frozenset(seen), [])
            if not findings and not reported:
                continue
            # every check may rest on the settings: none can be trusted
            if env.settings_gap is not None:
                if env.name not in skipped.unchecked.get(env.settings_gap, []):
                    skipped.unchecked.setdefault(env.settings_gap, []).append(env.name)
                continue
            gaps = env.gaps_holding(check.needs)
            for gap in gaps:
                skipped.add(gap, env.name, check.rule.code)
            if gaps:
                continue
            if reported is None:
                reported = [
                    attributed(finding_to_diagnostic(check.rule, finding, env), finding, env)
                    for finding in findings
                ]
                if known is not None:  # kept only when turned into diagnostics as a cold run does
                    ran[name] = CheckRun(frozenset(seen), reported)
            diagnostics.extend(reported)
        if known is not None and ran:
            known.store(env, ran)
    return diagnostics + [Attributed(note, None, note.span) for note in skipped.notes()]
