"""The rules about rule settings and suppressions (code family L)."""

from __future__ import annotations

import inspect

from compiler.diagnostics import Category, Rule, Severity


def _rule(
    code: str, name: str, severity: Severity, summary: str, category: Category, doc: str
) -> Rule:
    return Rule(code, name, severity, summary, inspect.cleandoc(doc), category=category)


SUPPRESSION_MALFORMED = _rule(
    "L001",
    "suppression-malformed",
    Severity.ERROR,
    "A `# llmops:` comment is not `# llmops: ignore[CODE] reason`.",
    Category.SUPPRESSION,
    "A comment starting with `llmops:` is a directive; the only one is `ignore[CODES] reason`.",
)
SUPPRESSION_WITHOUT_REASON = _rule(
    "L002",
    "suppression-without-reason",
    Severity.ERROR,
    "A suppression gives no reason.",
    Category.SUPPRESSION,
    "A suppression must say why, so the next reader can judge whether it still holds.",
)
SUPPRESSION_UNKNOWN_CODE = _rule(
    "L003",
    "suppression-unknown-code",
    Severity.ERROR,
    "A suppression names a code that is not a rule.",
    Category.SUPPRESSION,
    "A suppression must name rules that exist; a misspelt code would suppress nothing.",
)
SUPPRESSION_UNUSED = _rule(
    "L004",
    "suppression-unused",
    Severity.WARNING,
    "A suppression suppresses nothing.",
    Category.SUPPRESSION,
    "A suppression that suppresses nothing is left over from a fixed problem; remove it.",
)
SUPPRESSION_LOCKED = _rule(
    "L005",
    "suppression-of-locked-rule",
    Severity.ERROR,
    "A suppression names a rule its environment locks.",
    Category.SUPPRESSION,
    "A locked category (the environment's `rules.locked`) cannot be waived by a comment.",
)
SETTING_UNKNOWN = _rule(
    "L006",
    "unknown-rule-in-settings",
    Severity.ERROR,
    "The rule settings name a code or category that does not exist.",
    Category.CONFIGURATION,
    "The rule settings may only name existing codes and categories.",
)
SETTING_LOCKED = _rule(
    "L007",
    "locked-rule-weakened",
    Severity.ERROR,
    "The rule settings lower or disable a locked rule.",
    Category.CONFIGURATION,
    "A locked category's rules may be raised, never lowered or disabled.",
)

DECISION_RULES: tuple[Rule, ...] = (
    SUPPRESSION_MALFORMED,
    SUPPRESSION_WITHOUT_REASON,
    SUPPRESSION_UNKNOWN_CODE,
    SUPPRESSION_UNUSED,
    SUPPRESSION_LOCKED,
    SETTING_UNKNOWN,
    SETTING_LOCKED,
)
