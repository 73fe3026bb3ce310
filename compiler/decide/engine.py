"""Decide what is reported: the rule settings of each environment a diagnostic was found in, then
the suppressions of the file it is in.

The checks run unaware of both (selection is not checking). A diagnostic found in several
environments (a `_shared` manifest is checked in each) is reported once: at the most severe
severity of the environments that report it, suppressed only if every environment that does not
disable it suppresses it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from compiler.check.registry import RULES_BY_CODE
from compiler.check.runner import Attributed
from compiler.decide import rules
from compiler.decide.settings import EnvironmentRules, default_rules, environment_rules
from compiler.decide.suppressions import FileSuppressions, read_suppressions
from compiler.diagnostics import Category, Diagnostic, Suppressed, make_diagnostic
from compiler.load.estate import SHARED_ENV, LoadedEstate
from compiler.resolve.estate import ResolvedEstate

# The audit reads git history: its rules run only with `validate --audit`, so only then can a
# suppression of one be judged unused.
NOT_ALWAYS_RUN = frozenset({Category.AUDIT})
# An error of these leaves a document unread or unchecked: a suppression in its file may be for a
# rule that had no chance to report.
UNCHECKED_BY = frozenset({Category.SYNTAX, Category.SCHEMA})


@dataclass(eq=False, repr=False)
class Decisions:
    """What is reported after rule settings and suppressions apply."""

    diagnostics: list[Diagnostic]  # reported and counted, sorted
    suppressed: list[Suppressed]  # reported as suppressed only (JSON, SARIF), sorted


def _key(diagnostic: Diagnostic) -> tuple[str, str, int, int, str]:
    """Exact repeats are one diagnostic (as in DiagnosticSet)."""
    span = diagnostic.span
    return (diagnostic.code, span.file, span.line, span.column, diagnostic.message)


@dataclass(eq=False, repr=False)
class _Found:
    """A diagnostic found in one or more environments, as first found."""

    first: Attributed
    environments: list[str | None]


class Decider:
    """The settings of every environment and the suppressions of every file of one validation."""

    def __init__(self, loaded: LoadedEstate, estate: ResolvedEstate, only_env: str | None):
        self.loaded = loaded
        self.every_environment_checked = only_env is None
        self.environments: dict[str | None, EnvironmentRules] = {None: default_rules(None)}
        self.problems: list[Attributed] = []
        self.unjudged: set[str | None] = set()  # environments where checks stood aside
        for env in estate.environments:
            settings, problems = environment_rules(env)
            self.environments[env.name] = settings
            self.problems.extend(Attributed(p, env.name, p.span) for p in problems)
            if env.gaps or env.settings_gap is not None:
                self.unjudged.add(env.name)
        self.files: dict[str, FileSuppressions] = {}
        for path, source in loaded.files.items():
            found, problems = read_suppressions(path, source.text, RULES_BY_CODE)
            if found is not None:
                self.files[path] = found
            self.problems.extend(Attributed(p, None, p.span) for p in problems)

    def environments_of(self, found: Attributed) -> list[str | None]:
        if found.environment is not None:
            return [found.environment]
        return self._file_environments(found.diagnostic.span.file)

    def decide(self, found: Iterable[Attributed], audited: bool = False) -> Decisions:
        grouped: dict[tuple[str, str, int, int, str], _Found] = {}
        for item in found:
            entry = grouped.get(_key(item.diagnostic))
            if entry is None:
                grouped[_key(item.diagnostic)] = _Found(item, self.environments_of(item))
            else:
                entry.environments.extend(
                    name for name in self.environments_of(item) if name not in entry.environments
                )
        used: set[tuple[int, str]] = set()  # (id of the suppression, code)
        reported: list[Diagnostic] = []
        suppressed: list[Suppressed] = []
        for entry in grouped.values():
            outcome = self._outcome(entry, used)
            if isinstance(outcome, Diagnostic):
                reported.append(outcome)
            elif outcome is not None:
                suppressed.append(outcome)
        judged = {category for category in Category if category not in NOT_ALWAYS_RUN}
        if audited:
            judged |= NOT_ALWAYS_RUN
        unchecked = {
            entry.first.diagnostic.span.file
            for entry in grouped.values()
            if _stops_checks(entry.first.diagnostic)
        }
        own = [*self.problems, *self._refusals(), *self._unused(used, judged, unchecked)]
        for item in own:
            decided = [
                _with_severity(item.diagnostic, self.environments[name])
                for name in self.environments_of(item)
            ]
            reported.append(min(decided, key=lambda d: d.severity.rank))
        return Decisions(
            sorted(reported, key=lambda d: d.sort_key),
            sorted(suppressed, key=lambda s: s.diagnostic.sort_key),
        )

    def _outcome(self, entry: _Found, used: set[tuple[int, str]]) -> Diagnostic | Suppressed | None:
        diagnostic, document = entry.first.diagnostic, entry.first.document
        file = self.files.get(diagnostic.span.file) or self.files.get(document.file)
        active: list[Diagnostic] = []
        found_in: list[str] = []
        quiet: Suppressed | None = None
        for name in entry.environments:
            settings = self.environments[name]
            if diagnostic.code in settings.disabled:
                continue
            decided = _with_severity(diagnostic, settings)
            suppression = None
            if file is not None and not settings.is_locked(diagnostic.code):
                suppression = file.matching(diagnostic.code, diagnostic.span, document)
            if suppression is None:
                active.append(decided)
                if name is not None:
                    found_in.append(name)
                continue
            used.add((id(suppression), diagnostic.code))
            quiet = quiet or Suppressed(decided, suppression.reason, suppression.comment)
        if active:
            reported = min(active, key=lambda d: d.severity.rank)
            if entry.first.environment is not None and self._is_shared(diagnostic.span.file):
                return replace(reported, environments=tuple(sorted(found_in)))
            return reported
        return quiet

    def _is_shared(self, file: str) -> bool:
        """A file under environments/_shared/ that more than one environment reads (and checks,
        each with its own settings): which of them found something is worth saying."""
        return self.loaded.origin.get(file) == SHARED_ENV and len(self._file_environments(file)) > 1

    def _refusals(self) -> list[Attributed]:
        """Suppressions naming a rule locked in an environment of their file: refused there."""
        out = []
        for file in self.files.values():
            names = self._file_environments(file.file)
            for suppression in file.suppressions:
                for code, place in suppression.codes:
                    locked = [name for name in names if self.environments[name].is_locked(code)]
                    if not locked:
                        continue
                    category = RULES_BY_CODE[code].category.value
                    where = ", ".join(f"`{name}`" for name in locked if name is not None)
                    out.append(
                        Attributed(
                            make_diagnostic(
                                rules.SUPPRESSION_LOCKED,
                                f"{code} ({category}) cannot be suppressed"
                                + (f" in {where}" if where else "")
                                + f": category {category} is locked there",
                                place,
                                hint="fix what the rule reports; only the environment's "
                                "`rules.locked` setting unlocks a category",
                            ),
                            None,
                            place,
                        )
                    )
        return out

    def _unused(
        self, used: set[tuple[int, str]], judged: set[Category], unchecked: set[str]
    ) -> list[Attributed]:
        """Suppressions of codes that suppressed nothing, where that can be told: the rule ran, in
        every environment of the file, on a file read and valid, with nothing withheld for another
        file that could not be read."""
        out = []
        for file in self.files.values():
            names = self._file_environments(file.file)
            if file.file in unchecked or any(name in self.unjudged for name in names):
                continue
            if self.loaded.origin.get(file.file) == SHARED_ENV and not (
                self.every_environment_checked
            ):
                continue
            for suppression in file.suppressions:
                for code, place in suppression.codes:
                    rule = RULES_BY_CODE[code]
                    if (id(suppression), code) in used or rule.category not in judged:
                        continue
                    if all(self.environments[name].is_locked(code) for name in names):
                        continue  # refused (L005), not unused
                    off = [name for name in names if code in self.environments[name].disabled]
                    why = (
                        f"{code} is disabled in " + ", ".join(f"`{name}`" for name in off)
                        if off and len(off) == len(names)
                        else f"no {code} is reported "
                        + ("on this line" if suppression.line is not None else "in this document")
                    )
                    out.append(
                        Attributed(
                            make_diagnostic(
                                rules.SUPPRESSION_UNUSED,
                                f"the suppression of {code} is unused: {why}",
                                place,
                                hint="remove it (or the code) from the comment",
                            ),
                            None,
                            place,
                        )
                    )
        return out

    def _file_environments(self, file: str) -> list[str | None]:
        origin = self.loaded.origin.get(file)
        if origin == SHARED_ENV:
            return [name for name in self.environments if name is not None] or [None]
        return [origin] if origin in self.environments else [None]


def _stops_checks(diagnostic: Diagnostic) -> bool:
    rule = diagnostic.rule or RULES_BY_CODE.get(diagnostic.code)
    return rule is not None and rule.category in UNCHECKED_BY and diagnostic.severity.rank == 0


def _with_severity(diagnostic: Diagnostic, settings: EnvironmentRules) -> Diagnostic:
    """The environment's severity for the diagnostic's rule. A diagnostic reported below its rule's
    severity (resting on an assumption) is not raised above what it was reported at."""
    wanted = settings.severity.get(diagnostic.code)
    if wanted is None:
        return diagnostic
    rule = diagnostic.rule or RULES_BY_CODE.get(diagnostic.code)
    if rule is not None and diagnostic.severity.rank > rule.severity.rank:
        wanted = max(wanted, diagnostic.severity, key=lambda s: s.rank)
    return diagnostic if wanted is diagnostic.severity else replace(diagnostic, severity=wanted)
