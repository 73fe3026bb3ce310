"""Diagnostics and rules: the one record every stage produces and every output format reads."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from compiler.positions import Path, Span
from compiler.records import record

CODE_PATTERN = re.compile(r"^[A-Z][0-9]{3}\Z")


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


class Category(enum.StrEnum):
    """What a rule is about. Commands derive their code sets from it (never from hand-kept code
    lists)."""

    SYNTAX = "syntax"  # the file cannot be read as YAML the same way by every tool
    SCHEMA = "schema"  # a manifest does not match its kind's model
    REFERENCE = "reference"  # a name points at nothing, or at two things
    APPROVAL = "approval"  # whether a model may be served in an environment
    PLACEMENT = "placement"  # a manifest sits in the wrong folder or names the wrong environment
    POLICY = "policy"  # an environment's limits on GPUs, replicas and versions
    PROMOTION = "promotion"  # the order environments must serve a model version in
    SERVING = "serving"  # an endpoint's own settings contradict each other or KServe
    NAMING = "naming"  # names, routes and labels Kubernetes would refuse
    DATASET = "dataset"  # sample data files
    EXPERIMENT = "experiment"  # prompt templates and A/B experiments
    CAPACITY = "capacity"  # whether a workload fits its memory and GPUs
    LINEAGE = "lineage"  # a trained model, the job and base it comes from, and where it is served
    AUDIT = "audit"  # who committed approvals, read from git history
    SUPPRESSION = "suppression"  # `# llmops: ignore[CODE] reason` comments in manifests
    CONFIGURATION = "configuration"  # an environment's rule settings (`spec.rules`)


@record(eq=False, repr=False, slots=True)
class Rule:
    """A stable rule: its code never changes meaning and is never reused."""

    code: str
    name: str
    severity: Severity
    summary: str
    explanation: str = ""
    category: Category = field(kw_only=True)
    # a note about the other problems of its file (what they made skip): listed after them, though
    # it points at an earlier line
    after_the_file_s_problems: bool = field(default=False, kw_only=True)

    def __post_init__(self) -> None:
        if not CODE_PATTERN.fullmatch(self.code):
            raise ValueError(f"rule code {self.code!r} must be one capital letter and three digits")


@record(eq=False, repr=False, slots=True)
class Assumption:
    """Something llmops assumed because a manifest does not say it, and how the manifest can say it.

    A verdict that rests on an assumption is a warning, never an error (the runner lowers it): the
    manifest's own facts did not decide it, so the message names the assumption and the hint how to
    state it.
    """

    what: str  # "full fine-tuning, as trainJobSpec.finetuning_type is not set"
    state_it: str  # "set trainJobSpec.finetuning_type: full, lora or qlora"


@record(slots=True)
class Related:
    """Another place that explains a diagnostic, e.g. the first of two duplicates."""

    span: Span
    message: str


@record(slots=True)
class Diagnostic:
    """One problem found in the estate, where it is and which rule says so: what every output
    format prints."""

    code: str
    name: str
    severity: Severity
    message: str
    span: Span
    path: Path = ()
    hint: str | None = None
    related: tuple[Related, ...] = ()
    subject: str | None = None
    # for a file under environments/_shared/, checked in every environment with its own settings:
    # the environments whose checks found it (empty for every other file)
    environments: tuple[str, ...] = ()
    # the rule that reported it (its category and default severity), when made by make_diagnostic
    rule: Rule | None = field(default=None, compare=False, repr=False)

    @property
    def sort_key(self) -> tuple[str, bool, int, int, str, str]:
        """By file, then place; in a file, a note about the file's problems (that checks stood
        aside) after them, which it would otherwise precede (it points at where the unread part
        starts)."""
        return (
            self.span.file,
            self.rule is not None and self.rule.after_the_file_s_problems,
            self.span.line,
            self.span.column,
            self.code,
            self.message,
        )


def make_diagnostic(
    rule: Rule,
    message: str,
    span: Span,
    *,
    path: Path = (),
    hint: str | None = None,
    related: tuple[Related, ...] = (),
    subject: str | None = None,
) -> Diagnostic:
    """Build a diagnostic carrying the rule's code, name and default severity."""
    return Diagnostic(
        code=rule.code,
        name=rule.name,
        severity=rule.severity,
        message=message,
        span=span,
        path=path,
        hint=hint,
        related=related,
        subject=subject,
        rule=rule,
    )


@record(eq=False, repr=False, slots=True)
class Suppressed:
    """A diagnostic an inline `# llmops: ignore[CODE] reason` comment suppressed: not counted, but
    still reported as suppressed (JSON, SARIF) with the comment's place and reason."""

    diagnostic: Diagnostic
    reason: str
    comment: Span


@dataclass(eq=False, repr=False)
class DiagnosticSet:
    """Collects diagnostics, drops exact repeats (a shared manifest is checked once per
    environment)."""

    items: list[Diagnostic] = field(default_factory=list)
    _seen: set[tuple[str, str, int, int, str]] = field(default_factory=set)

    def add(self, diagnostic: Diagnostic) -> None:
        key = (
            diagnostic.code,
            diagnostic.span.file,
            diagnostic.span.line,
            diagnostic.span.column,
            diagnostic.message,
        )
        if key not in self._seen:
            self._seen.add(key)
            self.items.append(diagnostic)

    def extend(self, diagnostics: list[Diagnostic]) -> None:
        for diagnostic in diagnostics:
            self.add(diagnostic)

    def sorted(self) -> list[Diagnostic]:
        return sorted(self.items, key=lambda d: d.sort_key)


def count_by_severity(diagnostics: list[Diagnostic]) -> dict[Severity, int]:
    counts = {severity: 0 for severity in Severity}
    for diagnostic in diagnostics:
        counts[diagnostic.severity] += 1
    return counts
