"""An environment's rule settings (`spec.rules` of environment.yaml), checked and expanded to
codes.

A category stands for every rule in it; a code wins over its category. A locked category's rules
may be raised, never lowered or disabled: such a setting is refused (L007) and the rule keeps its
own severity.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import field

from compiler.check.registry import RULES_BY_CODE, codes_in
from compiler.decide import rules
from compiler.diagnostics import Category, Diagnostic, Rule, Severity, make_diagnostic
from compiler.positions import Path, Span
from compiler.records import record
from compiler.resolve.environment import ResolvedEnvironment
from compiler.spec.environment import ALWAYS_LOCKED_CATEGORIES, RuleSettings
from compiler.spelling import closest_name

_CATEGORIES = {category.value: category for category in Category}
Place = Callable[[Path, bool], Span]  # a path under spec.rules (and whether the key) -> its place


@record(eq=False, repr=False)
class EnvironmentRules:
    """What one environment reports: severities by code, disabled codes, locked categories."""

    name: str | None
    severity: Mapping[str, Severity] = field(default_factory=dict)
    disabled: frozenset[str] = frozenset()
    locked: frozenset[Category] = frozenset(ALWAYS_LOCKED_CATEGORIES)

    def is_locked(self, code: str) -> bool:
        rule = RULES_BY_CODE.get(code)
        return rule is not None and rule.category in self.locked


def default_rules(name: str | None) -> EnvironmentRules:
    """The settings of an environment that writes none (or of a file in no environment)."""
    return read_rule_settings(name, RuleSettings(), None)[0]


def environment_rules(env: ResolvedEnvironment) -> tuple[EnvironmentRules, list[Diagnostic]]:
    """The environment's settings, and the problems of those it writes (at environment.yaml)."""
    if env.settings_manifest is None:
        return read_rule_settings(env.name, env.settings.rules, None)
    document = env.settings_manifest.document

    def place(path: Path, key: bool) -> Span:
        return document.span_of(("spec", "rules", *path), key=key)

    return read_rule_settings(env.name, env.settings.rules, place)


def read_rule_settings(
    name: str | None, settings: RuleSettings, place: Place | None
) -> tuple[EnvironmentRules, list[Diagnostic]]:
    problems: list[Diagnostic] = []

    def report(rule: Rule, message: str, path: Path, hint: str, *, key: bool = False) -> None:
        if place is not None:
            full = ("spec", "rules", *path)
            problems.append(make_diagnostic(rule, message, place(path, key), path=full, hint=hint))

    def unknown(written: str, path: Path, *, key: bool = False, categories: bool = False) -> None:
        what, choices = (
            ("category", list(_CATEGORIES))
            if categories
            else ("rule code or category", [*RULES_BY_CODE, *_CATEGORIES])
        )
        suggestion = closest_rule(written, choices)
        hint = f"did you mean `{suggestion}`?" if suggestion else "`llmops rules` lists them"
        report(rules.SETTING_UNKNOWN, f"`{written}` is no {what}", path, hint, key=key)

    locked = set(ALWAYS_LOCKED_CATEGORIES)
    for index, written in enumerate(settings.locked):
        category = _CATEGORIES.get(written)
        if category is None:
            unknown(written, ("locked", index), categories=True)
        else:
            locked.add(category)
    frozen = frozenset(locked)

    def is_locked(code: str) -> bool:
        return RULES_BY_CODE[code].category in frozen

    severity: dict[str, Severity] = {}
    # categories first, so that a code written beside its category wins
    by_breadth = sorted(settings.severity.items(), key=lambda item: item[0] in RULES_BY_CODE)
    for selector, value in by_breadth:
        codes = _codes_of(selector)
        if codes is None:
            unknown(selector, ("severity", selector), key=True)
            continue
        wanted = Severity(value)
        lowered = sorted(code for code in codes if _lowers(code, wanted) and is_locked(code))
        if lowered:
            report(
                rules.SETTING_LOCKED,
                f"`{selector}: {value}` would lower {_listed(lowered)}, but "
                f"{_locked_words(lowered)} locked in `{name}`",
                ("severity", selector),
                _lock_hint(lowered),
                key=True,
            )
            continue
        severity.update(dict.fromkeys(codes, wanted))

    disabled: set[str] = set()
    for index, selector in enumerate(settings.disabled):
        codes = _codes_of(selector)
        if codes is None:
            unknown(selector, ("disabled", index))
            continue
        refused = sorted(code for code in codes if is_locked(code))
        if refused:
            report(
                rules.SETTING_LOCKED,
                f"`{selector}` cannot be disabled in `{name}`: {_locked_words(refused)} locked",
                ("disabled", index),
                _lock_hint(refused),
            )
            continue
        disabled.update(codes)
    return EnvironmentRules(name, severity, frozenset(disabled), frozen), problems


def closest_rule(written: str, choices: list[str]) -> str | None:
    """The code or category a misspelling most likely meant: swapped digits first (`C040` is
    `C004`, not `C010`), then the closest spelling."""
    swapped = [choice for choice in choices if sorted(choice) == sorted(written.upper())]
    return swapped[0] if len(swapped) == 1 else closest_name(written, choices)


def _codes_of(selector: str) -> frozenset[str] | None:
    if selector in RULES_BY_CODE:
        return frozenset({selector})
    category = _CATEGORIES.get(selector)
    return codes_in(category) if category is not None else None


def _lowers(code: str, wanted: Severity) -> bool:
    return wanted.rank > RULES_BY_CODE[code].severity.rank


def _listed(codes: list[str]) -> str:
    return (
        ", ".join(codes) if len(codes) <= 4 else f"{', '.join(codes[:3])} and {len(codes) - 3} more"
    )


def _locked_words(codes: list[str]) -> str:
    categories = sorted({RULES_BY_CODE[code].category.value for code in codes})
    noun = "category" if len(categories) == 1 else "categories"
    verb = "is" if len(categories) == 1 else "are"
    return f"{noun} {', '.join(categories)} {verb}"


def _lock_hint(codes: list[str]) -> str:
    categories = {RULES_BY_CODE[code].category for code in codes}
    if categories & set(ALWAYS_LOCKED_CATEGORIES):
        return "these rules are locked in every environment: fix what they report instead"
    return "fix what the rule reports, or take its category out of `rules.locked` (a policy change)"
