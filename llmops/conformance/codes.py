"""The conformance rules (code family V): what the API server would refuse in a rendered object.

They judge Kubernetes objects (the output of `llmops render`, or a user's own), not estate
manifests, so they are not in the estate rule registry (`llmops validate` never reports them); YAML
problems in the checked files keep their loader codes (Y...).
"""

from __future__ import annotations

from compiler.diagnostics import Category, Rule, Severity

E = Severity.ERROR


def _rule(code: str, name: str, summary: str, explanation: str) -> Rule:
    return Rule(code, name, E, summary, explanation, category=Category.SCHEMA)


UNKNOWN_FIELD = _rule(
    "V001",
    "unknown-object-field",
    "The object has a field its schema does not declare.",
    "With strict field validation (kubectl's default) the API server refuses the object; "
    "without it the field is silently dropped. Usually a misspelt or misplaced field.",
)
WRONG_TYPE = _rule(
    "V002",
    "wrong-field-type",
    "A field has a value of the wrong type.",
    "The API server refuses the object. Quantities such as cpu are integers or strings "
    '("500m"), never floats; null is only accepted where the schema says nullable.',
)
MISSING_FIELD = _rule(
    "V003",
    "missing-required-field",
    "A required field is missing.",
    "The API server refuses an object without it (fields with a default are not required).",
)
INVALID_VALUE = _rule(
    "V004",
    "invalid-field-value",
    "A field's value is outside what its schema allows.",
    "An enum, pattern, length, range or uniqueness constraint of the schema fails, e.g. a "
    "name that is not a DNS-1123 subdomain or a label value over 63 characters.",
)
UNSERVED_VERSION = _rule(
    "V005",
    "unserved-api-version",
    "The apiVersion is not served for this kind.",
    "The group's CRDs are known, but none serves this version and kind: an old or misspelt "
    "apiVersion (e.g. serving.kserve.io/v1alpha2 InferenceService).",
)
UNKNOWN_KIND = _rule(
    "V006",
    "unknown-object-kind",
    "No schema describes this apiVersion and kind.",
    "It is neither a vendored CRD kind nor a built-in kind of the Kubernetes version checked "
    "against, so it cannot be checked (or the kind is misspelt).",
)
DUPLICATE_ENTRY = _rule(
    "V007",
    "duplicate-list-entry",
    "Two entries of a keyed list have the same key.",
    "Lists such as containers, env or ports are maps keyed by name: the API server refuses "
    "(or silently merges) two entries with one key.",
)
NOT_AN_OBJECT = _rule(
    "V008",
    "not-a-kubernetes-object",
    "A document has no apiVersion and kind strings.",
    "Every document sent to the API server must name its apiVersion and kind.",
)

TOO_LARGE = _rule(
    "V009",
    "object-over-size-limit",
    "An object exceeds a size limit of the API server.",
    "A ConfigMap's or Secret's values together over 1 MiB, or an object's annotations over "
    "256 KiB: the API server refuses the object. Split the data or mount it from elsewhere.",
)

CONFORMANCE_RULES: tuple[Rule, ...] = (
    UNKNOWN_FIELD,
    WRONG_TYPE,
    MISSING_FIELD,
    INVALID_VALUE,
    UNSERVED_VERSION,
    UNKNOWN_KIND,
    DUPLICATE_ENTRY,
    NOT_AN_OBJECT,
    TOO_LARGE,
)
