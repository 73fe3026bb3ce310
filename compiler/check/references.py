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
from compiler.spelling import close_match

E = Severity.ERROR


def model_references(env: ResolvedEnvironment) -> Iterator[tuple[Manifest, Path, str]]:
    """Every place in the environment that names a model."""
    for manifest in env.manifests:
        for path, reference in manifest.derived(_model_reference_places):
            yield manifest, path, reference


def _model_reference_places(manifest: Manifest) -> tuple[tuple[Path, str], ...]:
    """Where one manifest names a model, and the name written there."""
    places: list[tuple[Path, str]] = []
    spec = manifest.spec
    if isinstance(spec, ServingEndpointSpec | TrainingJobSpec | ApprovalSpec):
        places.append((("spec", "modelId"), spec.model_id))
    if isinstance(spec, ServingEndpointSpec):
        if spec.deployment_spec and spec.deployment_spec.model_ref:
            places.append((("spec", "deploymentSpec", "model_ref"), spec.deployment_spec.model_ref))
        for index, adapter in enumerate(spec.adapters):
            places.append((("spec", "adapters", index), adapter))
        if spec.canary is not None:
            places.append((("spec", "canary", "model"), spec.canary.model))
    if isinstance(spec, TrainingJobSpec) and spec.train_job_spec and spec.train_job_spec.model_ref:
        places.append((("spec", "trainJobSpec", "model_ref"), spec.train_job_spec.model_ref))
    return tuple(places)


def dataset_references(env: ResolvedEnvironment) -> Iterator[tuple[Manifest, Path, str]]:
    for manifest in env.of_kind("TrainingJob"):
        spec = manifest.spec
        yield manifest, ("spec", "datasetId"), spec.dataset_id
        if spec.train_job_spec and spec.train_job_spec.dataset_ref:
            yield manifest, ("spec", "trainJobSpec", "dataset_ref"), spec.train_job_spec.dataset_ref


def _missing_hint(
    result: RefResult, noun: str, versioned: bool = True, written: str | None = None
) -> str:
    """What the environment has instead: the versions of the name written, else the closest
    identity, then those it has; how to write a version only when ``written`` has none."""
    if not result.candidates:
        return f"no {noun} is defined in this environment (or _shared)"
    shown = ", ".join(result.candidates[:5]) + (" …" if len(result.candidates) > 5 else "")
    here = f"{noun}s here: {shown}"
    if written is None:
        return here if not versioned else f"write `name@version` or `name-version`; {here}"
    name, at, _ = written.partition("@")
    versions = list(result.by_name.get(name, ())) if versioned else []
    if at and versions:  # the name is right, the version is not
        return f"the versions of `{name}` here: {', '.join(versions)}"
    close = close_match(written, result.candidates)
    if close is not None:
        return f"did you mean `{close}`? {here}"
    if versioned and not at:
        return f"write `name@version` or `name-version`; {here}"
    return here


@rule(
    "R001",
    "unresolved-model-ref",
    E,
    "A model reference names no Model in the environment.",
    category=Category.REFERENCE,
    needs=frozenset({"Model"}),
)
def unresolved_model_ref(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Every `modelId` and `model_ref` (of endpoints and training jobs), every adapter an
        endpoint lists and an endpoint's `canary.model` names a Model defined in
        the environment or in `_shared`, written `name@version` or `name-version`. The hint lists
        the models the environment has.
    Why it matters:
        An endpoint whose model does not exist cannot be rendered: there is no storage URI to load
        and no approval to check. A version that exists elsewhere (another environment, a newer
        release not yet added to the catalog) is a common slip when bumping versions.
    Wrong: the catalog has support-model 1.0 only
        # file: environments/dev/serving/support-chat.yaml
        spec:
          # Wrong: the catalog has support-model 1.0 only; 2.0 is not defined.
          modelId: support-model@2.0
        # file: environments/dev/catalog/support-model.yaml
        metadata:
          name: support-model
        spec:
          version: "1.0"
    Right: a version the catalog defines
        # file: environments/dev/serving/support-chat.yaml
        spec:
          # The version the catalog defines (and that is approved).
          modelId: support-model@1.0
    """
    for manifest, path, reference in model_references(env):
        result = env.resolve_model(reference)
        if result.status == "missing":
            yield Finding(
                manifest,
                path,
                f"model `{reference}` does not exist in environment `{env.name}`",
                _missing_hint(result, "model", written=reference),
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
    """What it checks:
        A training job's `datasetId` and `trainJobSpec.dataset_ref` name a Dataset defined in the
        environment or in `_shared`, by `name@version` or `name-version`. The hint lists the
        datasets the environment has.
    Why it matters:
        The job would start, find no data at the URI it was never given, and fail after its image is
        pulled and its GPUs are held; or, with a stale reference, train on data nobody meant.
    Wrong: only support-dataset v1 is defined
        # file: environments/dev/training/support-sft.yaml
        spec:
          modelId: support-model@1.0
          # Wrong: only support-dataset v1 is defined; v2 was never added to the catalog.
          datasetId: support-dataset@v2
        # file: environments/dev/catalog/support-dataset.yaml
        spec:
          version: v1
    Right:
        # file: environments/dev/training/support-sft.yaml
          # A dataset version the catalog defines.
          datasetId: support-dataset@v1
    """
    for manifest, path, reference in dataset_references(env):
        result = env.resolve_dataset(reference)
        if result.status == "missing":
            yield Finding(
                manifest,
                path,
                f"dataset `{reference}` does not exist in environment `{env.name}`",
                _missing_hint(result, "dataset", written=reference),
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
    """What it checks:
        A PromptExperiment's `templateAId` and `templateBId` name PromptTemplates defined in the
        environment or in `_shared`. The hint lists the templates there.
    Why it matters:
        The proxy routes a share of the endpoint's traffic to each template; a template that does
        not exist would leave that share without a prompt, so the experiment could not run and its
        results would mean nothing.
    Wrong: a misspelt template name
        # file: environments/dev/prompts/support-tone.yaml
        spec:
          # Wrong: misspelt; the template is named support-concise.
          templateAId: support-consise
          templateBId: support-friendly
        # file: environments/dev/prompts/support-templates.yaml
        metadata:
          name: support-concise
    Right: both templates exist
        # file: environments/dev/prompts/support-tone.yaml
        spec:
          # Both templates exist in the environment.
          templateAId: support-concise
          templateBId: support-friendly
    """
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
                    _missing_hint(result, "template", versioned=False, written=reference),
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
    """What it checks:
        A PromptExperiment's `endpoint` names a ServingEndpoint of the environment (or of
        `_shared`). The hint lists the endpoints there.
    Why it matters:
        An experiment attached to an endpoint that does not exist never receives traffic: it would
        look configured and running while measuring nothing.
    Wrong: the endpoint is support-chat, not support-chatbot
        # file: environments/dev/prompts/support-tone.yaml
          # Wrong: there is no endpoint support-chatbot; it is support-chat.
          endpoint: support-chatbot
        # file: environments/dev/serving/support-chat.yaml
        metadata:
          name: support-chat
    Right:
        # file: environments/dev/prompts/support-tone.yaml
          # The endpoint the experiment runs on exists.
          endpoint: support-chat
    """
    for manifest in env.of_kind("PromptExperiment"):
        endpoint = manifest.spec.endpoint
        if endpoint is not None:
            result = env.resolve_named("ServingEndpoint", endpoint)
            if result.status == "missing":
                yield Finding(
                    manifest,
                    ("spec", "endpoint"),
                    f"serving endpoint `{endpoint}` does not exist in environment `{env.name}`",
                    _missing_hint(result, "endpoint", versioned=False, written=endpoint),
                )


@rule(
    "R005",
    "duplicate-identity",
    E,
    "Two manifests of one environment have the same identity.",
    category=Category.REFERENCE,
)
def duplicate_identity(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Within one folder (an environment, or `_shared`), a kind and name, plus the version for a
        Model or Dataset, are defined once, and an environment has at most one Environment manifest.
        An environment manifest replacing a `_shared` one is the merge rule, not a duplicate.
    Why it matters:
        With two definitions, which one is deployed would depend on the order files are read, and a
        reviewer could read the other one. It usually means a copied file whose name or version was
        not changed.
    Wrong: copied from the 1.0 manifest, the version not bumped
        # file: environments/dev/catalog/support-model-1.1.yaml
        # Wrong: copied from support-model-1.0.yaml and the version was not bumped, so 1.0 is...
        apiVersion: llmops.io/v1
        kind: Model
        metadata:
          name: support-model
        spec:
          version: "1.0"
          type: base
          storageUri: s3://models/support-model/1.1/
    Right: the copy has its own version
        # file: environments/dev/catalog/support-model-1.1.yaml
        spec:
          version: "1.1"
          type: base
          storageUri: s3://models/support-model/1.1/
    """
    for first, second in env.duplicates:
        if second.kind == "Environment" and second.name != first.name:
            # not the same name twice: one Environment too many (renaming it fixes nothing)
            yield Finding(
                second,
                ("kind",),
                f"a second Environment (`{second.name}`) in the folder of `{first.name}`: an "
                "environment has one Environment manifest",
                "remove this one; the environment's settings belong in its Environment manifest "
                f"({first.file}), and another environment needs a folder of its own",
                related=(RelatedPlace(first, ("metadata", "name"), "the environment's own"),),
            )
            continue
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
    """What it checks:
        The original platform's bodies name the model twice (`modelId` and
        `deploymentSpec.model_ref` or `trainJobSpec.model_ref`) and a job's dataset twice
        (`datasetId` and `trainJobSpec.dataset_ref`). Both of a pair must resolve to the same
        manifest, however each is written.
    Why it matters:
        llmops renders from `modelId`; a `model_ref` naming another version is what a reader, or a
        tool reading the original body, would take instead. Such pairs drift apart when one field is
        bumped and the other forgotten.
    Wrong: modelId bumped to 1.1, model_ref left at 1.0
        # file: environments/dev/serving/support-chat.yaml
        spec:
          modelId: support-model@1.1
          route: /llm-ops/v1/serve/support-chat
          deploymentSpec:
            # Wrong: modelId was bumped to 1.1 but model_ref still names 1.0.
            model_ref: support-model-1.0
    Right: both name 1.1
        # file: environments/dev/serving/support-chat.yaml
        spec:
          modelId: support-model@1.1
          route: /llm-ops/v1/serve/support-chat
          deploymentSpec:
            # The same model as modelId.
            model_ref: support-model-1.1
    """
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
    """What it checks:
        An endpoint's `deploymentSpec.model_family` and a job's `trainJobSpec.model_family`, where
        written, equal the `metadata.model_family` of the Model they reference.
    Why it matters:
        The family selects runtime and trainer settings (chat template, tokenizer handling); set for
        another family, the model would load with the wrong ones and answer badly without any error.
    Wrong: support-model is a llama model
        # file: environments/dev/serving/support-chat.yaml
          deploymentSpec:
            # Wrong: support-model is a llama model; the runtime would be set up for mistral.
            model_family: mistral
        # file: environments/dev/catalog/support-model.yaml
          metadata:
            model_family: llama
    Right: the model's family
        # file: environments/dev/serving/support-chat.yaml
          deploymentSpec:
            # The family of support-model.
            model_family: llama
    """
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
    """What it checks:
        A reference written `name-version` matches exactly one manifest. `llama-3-8b` is both the
        model `llama-3` at version `8b` and the model `llama` at version `3-8b`; llmops refuses to
        pick.
    Why it matters:
        Guessing would deploy whichever model happened to win, and adding an unrelated model later
        could silently change what an existing endpoint serves. `name@version` is never ambiguous.
    Wrong: `llama-3-8b` names two models
        # file: environments/dev/serving/support-chat.yaml
          # Wrong: `llama-3-8b` is both llama-3 version 8b and llama version 3-8b.
          modelId: llama-3-8b
        # file: environments/dev/catalog/llama-3.yaml
          name: llama-3
        spec:
          version: "8b"
        # file: environments/dev/catalog/llama.yaml
          name: llama
        spec:
          version: "3-8b"
    Right: `name@version`
        # file: environments/dev/serving/support-chat.yaml
          # `name@version` names exactly one model.
          modelId: llama-3@8b
    """
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
