"""The schema rules (code family S): what pydantic reports, as stable codes."""

from __future__ import annotations

from compiler.diagnostics import Category, Rule, Severity

E = Severity.ERROR


def _schema_rule(code: str, name: str, severity: Severity, summary: str, explanation: str) -> Rule:
    return Rule(code, name, severity, summary, explanation, category=Category.SCHEMA)


UNKNOWN_FIELD = _schema_rule(
    "S001",
    "unknown-field",
    E,
    "A field the kind does not define.",
    "Misspelled fields would otherwise be ignored silently. The hint suggests the closest "
    "known field.",
)
MISSING_FIELD = _schema_rule(
    "S002",
    "missing-field",
    E,
    "A required field is absent.",
    "One diagnostic lists every field a mapping lacks. Add them; for a manifest a "
    "command writes (an Approval: `llmops approve`, which computes its digest), the "
    "hint gives the command.",
)
WRONG_TYPE = _schema_rule(
    "S003",
    "wrong-type",
    E,
    "A value has the wrong type.",
    'Values are never coerced: `version: 1.10` is the number 1.1, not the string "1.10". '
    "Quote strings that look like numbers.",
)
BAD_ENUM_VALUE = _schema_rule(
    "S004",
    "bad-enum-value",
    E,
    "A value is not one of the allowed choices.",
    "The hint lists the allowed values and the closest one.",
)
INVALID_VALUE = _schema_rule(
    "S005",
    "invalid-value",
    E,
    "A value is out of range or malformed.",
    "For example a negative replica count, or a memory size that is not a Kubernetes quantity.",
)
UNKNOWN_KIND = _schema_rule(
    "S006",
    "unknown-kind",
    E,
    "The document's kind is not an llmops kind.",
    "Kinds are Environment, Dataset, Model, Approval, TrainingJob, ServingEndpoint, "
    "PromptTemplate and PromptExperiment.",
)
WRONG_API_VERSION = _schema_rule(
    "S007",
    "wrong-api-version",
    E,
    "The apiVersion is not llmops.io/v1.",
    "Every llmops manifest says `apiVersion: llmops.io/v1`.",
)
SPEC_NAME_MISMATCH = _schema_rule(
    "S008",
    "spec-name-mismatch",
    E,
    "spec.name differs from metadata.name.",
    "The seeds' bodies carry a name; where one is given it must be the manifest's name, "
    "or references would resolve to two different things.",
)

SCHEMA_RULES: tuple[Rule, ...] = (
    UNKNOWN_FIELD,
    MISSING_FIELD,
    WRONG_TYPE,
    BAD_ENUM_VALUE,
    INVALID_VALUE,
    UNKNOWN_KIND,
    WRONG_API_VERSION,
    SPEC_NAME_MISMATCH,
)
