"""References (code family R): every id names something that exists, once, and agrees with its
twin."""

from __future__ import annotations

from collections.abc import Iterator

from compiler.check.rule import Finding, RelatedPlace, rule
from compiler.diagnostics import Category, Severity
from compiler.positions import Path
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.resolve.refs import RefResult
from compiler.spec.approval import ApprovalSpec
from compiler.spec.serving import ServingEndpointSpec
from compiler.spec.training import TrainingJobSpec

E = Severity.ERROR


def model_references(env: ResolvedEnvironment) -> Iterator[tuple[Manifest, Path, str]]:
    """Every place in the environment that names a model."""
    for manifest in env.manifests:
        spec = manifest.spec
        if isinstance(spec, ServingEndpointSpec | TrainingJobSpec | ApprovalSpec):
            yield manifest, ("spec", "modelId"), spec.model_id
        if (
            isinstance(spec, ServingEndpointSpec)
            and spec.deployment_spec
            and spec.deployment_spec.model_ref
        ):
            yield manifest, ("spec", "deploymentSpec", "model_ref"), spec.deployment_spec.model_ref
        if (
            isinstance(spec, TrainingJobSpec)
            and spec.train_job_spec
            and spec.train_job_spec.model_ref
        ):
            yield manifest, ("spec", "trainJobSpec", "model_ref"), spec.train_job_spec.model_ref


def dataset_references(env: ResolvedEnvironment) -> Iterator[tuple[Manifest, Path, str]]:
    for manifest in env.of_kind("TrainingJob"):
        spec = manifest.spec
        yield manifest, ("spec", "datasetId"), spec.dataset_id
        if spec.train_job_spec and spec.train_job_spec.dataset_ref:
            yield manifest, ("spec", "trainJobSpec", "dataset_ref"), spec.train_job_spec.dataset_ref


def _missing_hint(result: RefResult, noun: str, versioned: bool = True) -> str:
    if not result.candidates:
        return f"no {noun} is defined in this environment (or _shared)"
    shown = ", ".join(result.candidates[:5]) + (" …" if len(result.candidates) > 5 else "")
    if not versioned:  # templates and endpoints are named by metadata.name alone
        return f"{noun}s here: {shown}"
    return f"write `name@version` or `name-version`; {noun}s here: {shown}"


@rule(
    "R001",
    "unresolved-model-ref",
    E,
    "A model reference names no Model in the environment.",
    category=Category.REFERENCE,
    needs=frozenset({"Model"}),
)
def unresolved_model_ref(env: ResolvedEnvironment) -> Iterator[Finding]:
    """A `modelId` or `model_ref` must name a Model (by `name@version` or `name-version`) defined in
    the environment or in `_shared`. Otherwise the endpoint, job or approval points at nothing.
    Failing: `modelId: example-base-model@2.0` when only 1.0 exists. Fix: reference an existing
    version."""
    for manifest, path, reference in model_references(env):
        result = env.resolve_model(reference)
        if result.status == "missing":
            yield Finding(
                manifest,
                path,
                f"model `{reference}` does not exist in environment `{env.name}`",
                _missing_hint(result, "model"),
            )


@rule(
    "R002",
    "unresolved-dataset-ref",
    E,
    "A dataset reference names no Dataset in the environment.",
    category=Category.REFERENCE,
    needs=frozenset({"Dataset"}),
)
def unresolved_dataset_ref(env: ResolvedEnvironment) -> Iterator[Finding]:
    """A training job's `datasetId` and `dataset_ref` must name a Dataset defined in the environment
    or in `_shared`. Failing: `datasetId: support@v9`. Fix: reference an existing dataset
    version."""
    for manifest, path, reference in dataset_references(env):
        result = env.resolve_dataset(reference)
        if result.status == "missing":
            yield Finding(
                manifest,
                path,
                f"dataset `{reference}` does not exist in environment `{env.name}`",
                _missing_hint(result, "dataset"),
            )


@rule(
    "R003",
    "unresolved-template-ref",
    E,
    "An experiment names a PromptTemplate that does not exist.",
    category=Category.REFERENCE,
    needs=frozenset({"PromptTemplate"}),
)
def unresolved_template_ref(env: ResolvedEnvironment) -> Iterator[Finding]:
    """`templateAId` and `templateBId` must name PromptTemplates of the environment. Failing:
    `templateAId: greeting-v3` with no such template. Fix: add the template or correct the name."""
    for manifest in env.of_kind("PromptExperiment"):
        for field, reference in (
            ("templateAId", manifest.spec.template_a_id),
            ("templateBId", manifest.spec.template_b_id),
        ):
            result = env.resolve_named("PromptTemplate", reference)
            if result.status == "missing":
                yield Finding(
                    manifest,
                    ("spec", field),
                    f"prompt template `{reference}` does not exist in environment `{env.name}`",
                    _missing_hint(result, "template", versioned=False),
                )


@rule(
    "R004",
    "unresolved-endpoint-ref",
    E,
    "An experiment names a ServingEndpoint that does not exist.",
    category=Category.REFERENCE,
    needs=frozenset({"ServingEndpoint"}),
)
def unresolved_endpoint_ref(env: ResolvedEnvironment) -> Iterator[Finding]:
    """A PromptExperiment's `endpoint` must name a ServingEndpoint of the environment, or the
    experiment can never run. Fix: correct the name or add the endpoint."""
    for manifest in env.of_kind("PromptExperiment"):
        endpoint = manifest.spec.endpoint
        if endpoint is not None:
            result = env.resolve_named("ServingEndpoint", endpoint)
            if result.status == "missing":
                yield Finding(
                    manifest,
                    ("spec", "endpoint"),
                    f"serving endpoint `{endpoint}` does not exist in environment `{env.name}`",
                    _missing_hint(result, "endpoint", versioned=False),
                )


@rule(
    "R005",
    "duplicate-identity",
    E,
    "Two manifests of one environment have the same identity.",
    category=Category.REFERENCE,
)
def duplicate_identity(env: ResolvedEnvironment) -> Iterator[Finding]:
    """Within one folder (an environment, or `_shared`), a kind and name (and version for Model and
    Dataset) may be defined once; an environment has at most one Environment manifest. Otherwise
    which one wins would depend on file order. (An environment manifest replacing a `_shared` one is
    the merge rule, not a duplicate.) Fix: remove or rename one."""
    for first, second in env.duplicates:
        yield Finding(
            second,
            ("metadata", "name"),
            f"{second.subject} is defined twice",
            "remove one of the two, or give it another name or version",
            related=(RelatedPlace(first, ("metadata", "name"), "first defined here"),),
        )


@rule(
    "R006",
    "references-disagree",
    E,
    "Two fields that must name the same thing name different things.",
    category=Category.REFERENCE,
)
def references_disagree(env: ResolvedEnvironment) -> Iterator[Finding]:
    """The seeds' bodies name the model twice (`modelId` and `deploymentSpec.model_ref` or
    `trainJobSpec.model_ref`) and the dataset twice (`datasetId` and `trainJobSpec.dataset_ref`).
    Both must resolve to the same manifest. Fix: make them name the same version."""
    pairs: list[tuple[str, str, Path, str, Path]] = []
    for manifest in env.manifests:
        spec = manifest.spec
        if (
            isinstance(spec, ServingEndpointSpec)
            and spec.deployment_spec
            and spec.deployment_spec.model_ref
        ):
            pairs.append(
                (
                    "model",
                    spec.model_id,
                    ("spec", "modelId"),
                    spec.deployment_spec.model_ref,
                    ("spec", "deploymentSpec", "model_ref"),
                )
            )
        if isinstance(spec, TrainingJobSpec) and spec.train_job_spec:
            if spec.train_job_spec.model_ref:
                pairs.append(
                    (
                        "model",
                        spec.model_id,
                        ("spec", "modelId"),
                        spec.train_job_spec.model_ref,
                        ("spec", "trainJobSpec", "model_ref"),
                    )
                )
            if spec.train_job_spec.dataset_ref:
                pairs.append(
                    (
                        "dataset",
                        spec.dataset_id,
                        ("spec", "datasetId"),
                        spec.train_job_spec.dataset_ref,
                        ("spec", "trainJobSpec", "dataset_ref"),
                    )
                )
        for noun, first, first_path, second, second_path in pairs:
            resolve = env.resolve_model if noun == "model" else env.resolve_dataset
            a, b = resolve(first), resolve(second)
            if a.manifest is not None and b.manifest is not None and a.manifest is not b.manifest:
                yield Finding(
                    manifest,
                    second_path,
                    f"`{second}` is {b.manifest.subject} but `{first}` is {a.manifest.subject}",
                    f"make both fields name the same {noun}",
                    related=(RelatedPlace(manifest, first_path, f"the other {noun} reference"),),
                )
        pairs.clear()


@rule(
    "R007",
    "model-family-mismatch",
    E,
    "A spec's model_family differs from the model's.",
    category=Category.REFERENCE,
)
def model_family_mismatch(env: ResolvedEnvironment) -> Iterator[Finding]:
    """`deploymentSpec.model_family` and `trainJobSpec.model_family` select runtime and trainer
    settings; they must agree with the referenced model's `metadata.model_family`. Fix: correct the
    family."""
    for manifest in env.manifests:
        spec = manifest.spec
        if isinstance(spec, ServingEndpointSpec) and spec.deployment_spec:
            family, path = (
                spec.deployment_spec.model_family,
                ("spec", "deploymentSpec", "model_family"),
            )
        elif isinstance(spec, TrainingJobSpec) and spec.train_job_spec:
            family, path = (
                spec.train_job_spec.model_family,
                ("spec", "trainJobSpec", "model_family"),
            )
        else:
            continue
        model = env.resolve_model(spec.model_id).manifest
        if family is None or model is None or model.spec.metadata.model_family is None:
            continue
        expected = model.spec.metadata.model_family
        if family.lower() != expected.lower():
            yield Finding(
                manifest,
                path,
                f'model_family is "{family}" but {model.subject} is "{expected}"',
                f"set model_family: {expected}",
                related=(
                    RelatedPlace(model, ("spec", "metadata", "model_family"), "the model's family"),
                ),
            )


@rule(
    "R008",
    "ambiguous-reference",
    E,
    "A `name-version` reference matches more than one manifest.",
    category=Category.REFERENCE,
)
def ambiguous_reference(env: ResolvedEnvironment) -> Iterator[Finding]:
    """The seeds' `name-version` form can be ambiguous (`a-b` + `1.0` and `a` + `b-1.0`). Write
    `name@version` instead, which never is."""
    for manifest, path, reference in (*model_references(env), *dataset_references(env)):
        resolve = (
            env.resolve_dataset if path[-1] in ("datasetId", "dataset_ref") else env.resolve_model
        )
        result = resolve(reference)
        if result.status == "ambiguous":
            yield Finding(
                manifest,
                path,
                f"`{reference}` matches {' and '.join(result.candidates)}",
                "write the reference as `name@version`",
            )


CHECKS = (
    unresolved_model_ref,
    unresolved_dataset_ref,
    unresolved_template_ref,
    unresolved_endpoint_ref,
    duplicate_identity,
    references_disagree,
    model_family_mismatch,
    ambiguous_reference,
)
