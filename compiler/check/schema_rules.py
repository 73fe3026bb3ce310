"""The schema rules (code family S): what pydantic reports, as stable codes."""

from __future__ import annotations

import inspect

from compiler.diagnostics import Category, Rule, Severity

E = Severity.ERROR


def _schema_rule(code: str, name: str, severity: Severity, summary: str, doc: str) -> Rule:
    """A rule with its documentation in the fixed sections (see compiler/check/rule_docs.py)."""
    return Rule(code, name, severity, summary, inspect.cleandoc(doc), category=Category.SCHEMA)


UNKNOWN_FIELD = _schema_rule(
    "S001",
    "unknown-field",
    E,
    "A field the kind does not define.",
    """
    What it checks:
        Every key of a manifest is a field its kind defines (schemas/manifest-reference.md lists
        them). The hint suggests the closest known field, also across the two spellings the
        original platform's bodies use (`ownerTeam` on a Model, `owner_team` on a Dataset).
    Why it matters:
        A misspelt or misplaced field would otherwise be ignored silently: the manifest looks
        configured but the setting never reaches the cluster (a replica count, a GPU limit, an
        owner). Refusing unknown fields is what Kubernetes' strict field validation does too.
    Wrong: a Model with the Dataset's spelling
        # file: environments/dev/catalog/support-model.yaml
        spec:
          version: "1.0"
          type: base
          storageUri: s3://models/support-model/1.0/
        ...
          owner_team: ml-platform
    Right: spelt as the Model schema defines it
        # file: environments/dev/catalog/support-model.yaml
          # Spelt as the Model schema defines it.
          ownerTeam: ml-platform
    """,
)
MISSING_FIELD = _schema_rule(
    "S002",
    "missing-field",
    E,
    "A required field is absent.",
    """
    What it checks:
        Every field the kind requires is present. One diagnostic, at the mapping, lists every
        field it lacks; for a manifest a command writes (an Approval, from `llmops approve`, which
        computes its digest) the hint gives the command.
    Why it matters:
        Without a required field the manifest cannot be rendered: a Model without `storageUri`
        says nothing about where its weights are, so no model server could load it. llmops
        invents no default for what only the author knows.
    Wrong: a Model without storageUri
        # file: environments/dev/catalog/support-model.yaml
        # Wrong: spec has no storageUri, so nothing says where the weights are.
        spec:
          version: "1.0"
          type: base
    Right: every required field present
        # file: environments/dev/catalog/support-model.yaml
        spec:
          version: "1.0"
          type: base
          storageUri: s3://models/support-model/1.0/
    """,
)
WRONG_TYPE = _schema_rule(
    "S003",
    "wrong-type",
    E,
    "A value has the wrong type.",
    """
    What it checks:
        Every value has its field's type: a string, a number, a boolean, a list or a mapping.
        Nothing is coerced, and for a number where a string is expected the message shows what
        was written (`1.10`) beside what YAML made of it (1.1).
    Why it matters:
        Coercion loses information silently: `version: 1.10` is the number 1.1, so version 1.10
        would be deployed as 1.1 (and collide with it). A string field that receives a number
        was almost always meant to be quoted.
    Wrong: an unquoted version
        # file: environments/dev/catalog/support-model.yaml
          # Wrong: unquoted, 1.10 is the number 1.1, not the version string "1.10".
          version: 1.10
    Right: quoted
        # file: environments/dev/catalog/support-model.yaml
          # Quoted: the version is the string "1.10".
          version: "1.10"
    """,
)
BAD_ENUM_VALUE = _schema_rule(
    "S004",
    "bad-enum-value",
    E,
    "A value is not one of the allowed choices.",
    """
    What it checks:
        A field with a fixed set of values (a Model's `type`, a job's `jobType`, an endpoint's
        `serve_target`) holds one of them. The message lists the allowed values and the hint the
        closest one.
    Why it matters:
        The renderer and the proxy act on these values (which runtime flags, which task); a
        value outside the set has no meaning, and a near miss is usually a value of a similar
        field of another kind.
    Wrong: `finetune` is a training job's jobType, not a model type
        # file: environments/dev/catalog/support-model.yaml
          # Wrong: the type is `finetuned`; `finetune` is the training job's jobType.
          type: finetune
    Right: one of base, finetuned, adapter, embedding
        # file: environments/dev/catalog/support-model.yaml
          # One of base, finetuned, adapter, embedding.
          type: finetuned
    """,
)
INVALID_VALUE = _schema_rule(
    "S005",
    "invalid-value",
    E,
    "A value is out of range or malformed.",
    """
    What it checks:
        Every number is within its real-world range (replicas 0-1,000, GPUs per replica 0-64,
        memory 1Mi-64Ti...) and every string the renderer copies into Kubernetes, git or Argo CD
        has that field's format (DNS names, image references, storage URIs, quantities, git
        revisions). The hint gives the field's description.
    Why it matters:
        Kubernetes, the kubelet, git or Argo CD would refuse such a value only after merge, at
        sync time, far from the line that caused it, or worse accept it and misbehave (a path
        mistaken for a URI reads from the wrong place). Checking it here points at the line.
    Wrong: a bucket path without its scheme
        # file: environments/dev/catalog/support-model.yaml
          # Wrong: a bucket path without its scheme is not a URI.
          storageUri: models/support-model/1.0/
    Right: a URI
        # file: environments/dev/catalog/support-model.yaml
          # A URI with its scheme.
          storageUri: s3://models/support-model/1.0/
    """,
)
UNKNOWN_KIND = _schema_rule(
    "S006",
    "unknown-kind",
    E,
    "The document's kind is not an llmops kind.",
    """
    What it checks:
        Every document's `kind` is one of Environment, Dataset, Model, Approval, TrainingJob,
        ServingEndpoint, PromptTemplate and PromptExperiment.
    Why it matters:
        The kind decides which schema a document is checked against and what is rendered from
        it; a document of an unknown kind would otherwise be ignored, and whatever it was meant
        to define would be missing. Kubernetes objects do not belong under environments/.
    Wrong: there is no ModelVersion kind; a model version is a Model
        # file: environments/dev/catalog/support-model.yaml
        apiVersion: llmops.io/v1
        # Wrong: llmops has no `ModelVersion` kind; a model version is a `Model`.
        kind: ModelVersion
    Right: an llmops kind
        # file: environments/dev/catalog/support-model.yaml
        apiVersion: llmops.io/v1
        # One of the llmops kinds.
        kind: Model
    """,
)
WRONG_API_VERSION = _schema_rule(
    "S007",
    "wrong-api-version",
    E,
    "The apiVersion is not llmops.io/v1.",
    """
    What it checks:
        Every manifest says `apiVersion: llmops.io/v1`, the one version of the manifest format.
    Why it matters:
        The apiVersion says which schema a document follows. A different one is either a
        Kubernetes object in the wrong folder or a manifest written for a format llmops does not
        read; validating it against v1 anyway could accept fields meant differently.
    Wrong: a beta version
        # file: environments/dev/catalog/support-model.yaml
        # Wrong: the apiVersion is llmops.io/v1, not a beta version.
        apiVersion: llmops.io/v1beta1
    Right:
        # file: environments/dev/catalog/support-model.yaml
        # Every llmops manifest is llmops.io/v1.
        apiVersion: llmops.io/v1
    """,
)
SPEC_NAME_MISMATCH = _schema_rule(
    "S008",
    "spec-name-mismatch",
    E,
    "spec.name differs from metadata.name.",
    """
    What it checks:
        Where a spec carries a `name` (the original platform's REST bodies do, and are accepted
        verbatim as a spec), it equals `metadata.name`.
    Why it matters:
        References resolve by `metadata.name`. A second, different name in the same manifest
        means a reader and a tool could each take the other one, and a reference written with
        the spec's name would find nothing.
    Wrong: the pasted body names the model differently
        # file: environments/dev/catalog/support-model.yaml
        metadata:
          name: support-model
        spec:
          ...
          name: support-base-model
    Right: the same name (or no spec.name)
        # file: environments/dev/catalog/support-model.yaml
        metadata:
          name: support-model
        spec:
          # The same name as metadata.name.
          name: support-model
    """,
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
