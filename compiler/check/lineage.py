"""Lineage (code family M): a trained model agrees with the job, base model and dataset that made
it, and an adapter is served on its own base."""

from __future__ import annotations

from collections.abc import Iterator

from compiler.capacity.adapters import VLLM_LORA_RANKS, adapter_rank
from compiler.check.rule import Finding, RelatedPlace, rule
from compiler.diagnostics import Category, Severity
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.lineage import (
    job_environment,
    job_output_uri,
    lineage_of,
    produced_model,
    same_uri,
    split_trained_by,
    training_job,
)
from compiler.resolve.manifest import Manifest
from compiler.resolve.serving_backend import is_llm_inference_service
from compiler.spec.model import ModelSpec
from compiler.spec.training import TrainingJobSpec
from compiler.target.kserve_versions import serves_lora_adapters
from compiler.target.naming import inference_service_name

E = Severity.ERROR
# base models followed from one model before giving up (no real lineage is this deep)
MAX_LINEAGE_DEPTH = 64


def _key(model: Manifest[ModelSpec] | None) -> tuple[str, str | None] | None:
    """A model's identity: the same model resolved in two environments is two manifest objects."""
    return (model.name, model.version) if model is not None else None


@rule(
    "M001",
    "unresolved-lineage-ref",
    E,
    "A Model's baseModel or trainedBy names nothing.",
    category=Category.LINEAGE,
    needs=frozenset({"Model", "TrainingJob"}),
)
def unresolved_lineage_ref(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        A Model's `baseModel` names a Model of the environment (or `_shared`), and its `trainedBy`
        names a TrainingJob: of the same environment when written `JOB`, of environment `ENV`
        when written `ENV/JOB` (a model trained in dev and promoted to prod names `dev/JOB`).
    Why it matters:
        A derived model's approval covers the job and dataset that made it, and an adapter is
        served on its base: a dangling link leaves nothing to cover or to serve it on, and usually
        means a job or base model was renamed without the models made from it.
    Wrong: the job is support-sft, not support-tuning
        # file: environments/dev/catalog/support-sft.yaml
          baseModel: support-model@1.0
          # Wrong: there is no job support-tuning; the job is support-sft.
          trainedBy: support-tuning
    Right: the job that wrote it
        # file: environments/dev/catalog/support-sft.yaml
          baseModel: support-model@1.0
          # The job that wrote this adapter.
          trainedBy: support-sft
    """
    for model in env.of_kind("Model"):
        spec = model.spec
        if spec.base_model is not None:
            result = env.resolve_model(spec.base_model)
            if result.status == "missing":
                shown = ", ".join(result.candidates[:5]) or "none"
                yield Finding(
                    model,
                    ("spec", "baseModel"),
                    f"base model `{spec.base_model}` does not exist in environment `{env.name}`",
                    f"write `name@version` or `name-version`; models here: {shown}",
                )
        if spec.trained_by is None:
            continue
        where = job_environment(env, spec.trained_by)
        environment, name = split_trained_by(spec.trained_by)
        if where is None:
            yield Finding(
                model,
                ("spec", "trainedBy"),
                f"trainedBy names environment `{environment}`, which does not exist",
                "write `JOB` for a job of this environment or `ENV/JOB` for another environment's",
            )
            continue
        job = where.resolve_named("TrainingJob", name)
        if job.status == "missing":
            shown = ", ".join(job.candidates[:5]) or "none"
            yield Finding(
                model,
                ("spec", "trainedBy"),
                f"training job `{name}` does not exist in environment `{where.name}`",
                f"training jobs there: {shown}",
            )


@rule(
    "M002",
    "base-model-mismatch",
    E,
    "A trained model's baseModel is missing or is not its job's model.",
    category=Category.LINEAGE,
)
def base_model_mismatch(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        A Model with `trainedBy` names its `baseModel`, and it is the model the job trained
        (`modelId` of the job); a Model of type `adapter` always names its `baseModel`.
    Why it matters:
        The base is what an endpoint loads an adapter onto and what capacity checks size. A base
        other than the one the job trained on would load weights of the wrong shape, or worse,
        load and answer badly.
    Wrong: the job trained support-model 1.0
        # file: environments/dev/catalog/support-sft.yaml
          # Wrong: the job trained support-model 1.0, not 1.1.
          baseModel: support-model@1.1
          trainedBy: support-sft
    Right: the job's model
        # file: environments/dev/catalog/support-sft.yaml
          # The model the job trained.
          baseModel: support-model@1.0
          trainedBy: support-sft
    """
    for model in env.of_kind("Model"):
        spec = model.spec
        step = lineage_of(env, model)
        if spec.base_model is None:
            if step.job is not None:
                yield Finding(
                    model,
                    ("spec", "trainedBy"),
                    f"{model.subject} was trained by `{spec.trained_by}` but names no baseModel",
                    f"add baseModel: {step.job.spec.model_id}",
                )
            elif spec.type == "adapter":
                yield Finding(
                    model,
                    ("spec", "type"),
                    f"{model.subject} is an adapter but names no baseModel",
                    "add baseModel: the model the adapter was trained on and is served on",
                )
            continue
        if step.job is None or step.base is None or step.job_base is None:
            continue
        if _key(step.base) != _key(step.job_base):
            yield Finding(
                model,
                ("spec", "baseModel"),
                f"baseModel is {step.base.subject} but job `{step.job.name}` trained "
                f"{step.job_base.subject}",
                f"set baseModel: {step.job_base.name}@{step.job_base.version}",
                related=(RelatedPlace(step.job, ("spec", "modelId"), "the job's model"),),
            )


@rule(
    "M003",
    "trained-model-storage-mismatch",
    E,
    "A trained model's storageUri is not where its job writes.",
    category=Category.LINEAGE,
)
def trained_model_storage_mismatch(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        A Model with `trainedBy` has the `storageUri` its job writes to: the job's
        `output.storageUri`, or the environment's `training.outputUri` plus the job's name. A
        trailing slash does not matter.
    Why it matters:
        The model server loads from the model's storageUri; pointing elsewhere serves other weights
        than the ones the job trained, and the approval (which covers the job) would vouch for them.
    Wrong: the job writes to s3://models/support-sft/1.0/
        # file: environments/dev/catalog/support-sft.yaml
          # Wrong: the job writes to s3://models/support-sft/1.0/.
          storageUri: s3://models/support-sft/2.0/
    Right: the job's output
        # file: environments/dev/catalog/support-sft.yaml
          # Where the job writes (its output.storageUri).
          storageUri: s3://models/support-sft/1.0/
    """
    for model in env.of_kind("Model"):
        if model.spec.trained_by is None:
            continue
        where, job = training_job(env, model.spec.trained_by)
        if where is None or job is None:
            continue
        written = job_output_uri(where, job)
        if not same_uri(str(model.spec.storage_uri), written):
            yield Finding(
                model,
                ("spec", "storageUri"),
                f"storageUri is {model.spec.storage_uri} but job `{job.name}` writes to {written}",
                f"set storageUri: {written}",
                related=(RelatedPlace(job, ("metadata", "name"), "the training job"),),
            )


@rule(
    "M004",
    "derived-model-metadata-mismatch",
    E,
    "A derived model's family or architecture differs from its base model's.",
    category=Category.LINEAGE,
)
def derived_model_metadata_mismatch(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        A Model with a `baseModel` has the same `metadata.model_family` and
        `metadata.architecture` as its base, where both write them (case does not matter).
    Why it matters:
        Fine-tuning changes weights, not the network: a family or architecture other than the
        base's sets up the runtime and the capacity checks for another model.
    Wrong: the base is a llama model
        # file: environments/dev/catalog/support-sft.yaml
          metadata:
            # Wrong: the base model is a llama model; fine-tuning does not change the family.
            model_family: mistral
    Right: the base's family
        # file: environments/dev/catalog/support-sft.yaml
          metadata:
            # The family of the base model.
            model_family: llama
    """
    for model in env.of_kind("Model"):
        if model.spec.base_model is None:
            continue
        base = env.resolve_model(model.spec.base_model).manifest
        if base is None or base is model:
            continue
        for field, mine, theirs in (
            ("model_family", model.spec.metadata.model_family, base.spec.metadata.model_family),
            ("architecture", model.spec.metadata.architecture, base.spec.metadata.architecture),
        ):
            if mine is None or theirs is None or mine.lower() == theirs.lower():
                continue
            yield Finding(
                model,
                ("spec", "metadata", field),
                f'{field} is "{mine}" but its base {base.subject} is "{theirs}"',
                f"set {field}: {theirs}",
                related=(RelatedPlace(base, ("spec", "metadata", field), f"the base's {field}"),),
            )


@rule(
    "M005",
    "training-output-mismatch",
    E,
    "A job's output.model and the model's trainedBy do not name each other.",
    category=Category.LINEAGE,
)
def training_output_mismatch(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        When a TrainingJob's `output.model` names a Model of the environment, that Model's
        `trainedBy` names the job. (A job whose model is not in the catalog yet is fine: it is
        added once the job has run.)
    Why it matters:
        Two records of one fact drift apart: the job says it produces one model, the model says
        another job made it, and approvals, lineage and `llmops lineage` would follow different
        links.
    Wrong: the job names support-sft, which says nothing of the job
        # file: environments/dev/training/support-sft.yaml
          output:
            storageUri: s3://models/support-sft/1.0/
            # Wrong: support-sft@1.0 has no trainedBy naming this job.
            model: support-sft@1.0
    Right: the model names the job back
        # file: environments/dev/catalog/support-sft.yaml
          # The job that wrote this adapter; the job's output.model names this model.
          trainedBy: support-sft
    """
    for job in env.of_kind("TrainingJob"):
        reference = produced_model(job)
        if reference is None:
            continue
        model = env.resolve_model(reference).manifest
        if model is None:
            continue
        trained_by = model.spec.trained_by
        made_here = trained_by is not None and training_job(env, trained_by)[1] is job
        if not made_here:
            said = f"says trainedBy `{trained_by}`" if trained_by else "names no trainedBy"
            yield Finding(
                job,
                ("spec", "output", "model"),
                f"job `{job.name}` produces {model.subject}, but the model {said}",
                f"set trainedBy: {job.name} in {model.subject}, or name another model here",
                related=(RelatedPlace(model, ("metadata", "name"), "the model"),),
            )


@rule(
    "M006",
    "adapter-served-on-wrong-base",
    E,
    "An endpoint serves an adapter on a model other than the adapter's base.",
    category=Category.LINEAGE,
)
def adapter_served_on_wrong_base(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Every entry of an endpoint's `adapters` is a Model of type `adapter` whose `baseModel` is
        the endpoint's `modelId`, and an endpoint's `modelId` is not itself an adapter (serve its
        base and list the adapter under `adapters`).
    Why it matters:
        LoRA weights only fit the model they were trained on: loaded onto another base they fail
        to load, or, with matching shapes, load and produce nonsense.
    Wrong: the adapter was trained on support-model 1.0
        # file: environments/dev/serving/support-chat.yaml
          # Wrong: support-sft was trained on support-model 1.0, not 1.1.
          modelId: support-model@1.1
    Right: served on its base
        # file: environments/dev/serving/support-chat.yaml
          # The base support-sft was trained on.
          modelId: support-model@1.0
    """
    for endpoint in env.of_kind("ServingEndpoint"):
        served = env.resolve_model(endpoint.spec.model_id).manifest
        if served is None:
            continue
        if served.spec.type == "adapter":
            base = served.spec.base_model or "its base model"
            yield Finding(
                endpoint,
                ("spec", "modelId"),
                f"{served.subject} is an adapter and cannot be served alone",
                f"serve modelId: {base} with adapters: [{served.name}@{served.version}]",
            )
            continue
        for index, reference in enumerate(endpoint.spec.adapters):
            adapter = env.resolve_model(reference).manifest
            if adapter is None:
                continue
            if adapter.spec.type != "adapter":
                yield Finding(
                    endpoint,
                    ("spec", "adapters", index),
                    f"{adapter.subject} is of type `{adapter.spec.type}`, not an adapter",
                    "list only Models of type adapter here; serve another model on its own "
                    "endpoint",
                )
                continue
            if adapter.spec.base_model is None:
                continue  # M002 says it is missing
            trained_on = env.resolve_model(adapter.spec.base_model).manifest
            if trained_on is None:
                continue  # M001 says so
            if _key(trained_on) != _key(served):
                yield Finding(
                    endpoint,
                    ("spec", "modelId"),
                    f"adapter {adapter.subject} was trained on {trained_on.subject}, but the "
                    f"endpoint serves {served.subject}",
                    f"serve modelId: {trained_on.name}@{trained_on.version}, or an adapter "
                    "trained on it",
                    related=(
                        RelatedPlace(adapter, ("spec", "baseModel"), "the adapter's base model"),
                    ),
                )


@rule(
    "M007",
    "adapters-need-vllm",
    E,
    "An endpoint serves LoRA adapters without the runtime that can load them.",
    category=Category.LINEAGE,
)
def adapters_need_vllm(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        An endpoint with `adapters` runs on GPUs (llmops then renders KServe's Hugging Face runtime
        with its vLLM backend, the one that loads LoRA adapters; an LLMInferenceService runs vLLM
        on CPU too, with the vLLM CPU image its environment names) in an environment whose
        `kserve.version` is 0.16 or newer (the release that downloads several storage URIs into
        one predictor and registers each adapter under its name).
    Why it matters:
        On CPU the runtime's plain transformers backend ignores the LoRA arguments, and an older
        KServe refuses `storageUris`: the endpoint would serve the base model alone, or not start,
        while requests naming the adapter fail.
    Wrong: a CPU endpoint
        # file: environments/dev/serving/support-chat.yaml
          # Wrong: no GPUs; the CPU backend cannot load LoRA adapters.
          useGpu: false
          adapters:
            - support-sft@1.0
    Right: on a GPU
        # file: environments/dev/serving/support-chat.yaml
          # The vLLM backend loads the adapters on GPUs.
          useGpu: true
    """
    version = env.settings.kserve.version
    for endpoint in env.of_kind("ServingEndpoint"):
        if not endpoint.spec.adapters:
            continue
        deployment = endpoint.spec.deployment_spec
        gpus = deployment.resources.gpus if deployment is not None else 0
        vllm_on_cpu = (
            is_llm_inference_service(env, endpoint)
            and env.settings.kserve.llm_inference_service.image is not None
        )
        if gpus == 0 and not vllm_on_cpu:
            yield Finding(
                endpoint,
                ("spec", "adapters"),
                f"endpoint `{endpoint.name}` serves LoRA adapters on CPU; only the runtime's vLLM "
                "backend, used on GPUs, loads them",
                "give it GPUs (useGpu: true, deploymentSpec.resources.gpus), or serve a model "
                "fine-tuned in full (finetuning_type: full) instead",
            )
        elif not serves_lora_adapters(version):
            yield Finding(
                endpoint,
                ("spec", "adapters"),
                f"KServe {version} cannot serve LoRA adapters beside a model (storageUris and "
                "adapter registration came in KServe 0.16)",
                "upgrade KServe and set kserve.version in environment.yaml",
            )


@rule(
    "M008",
    "adapter-name-taken",
    E,
    "Two models an endpoint serves would answer to the same name.",
    category=Category.LINEAGE,
)
def adapter_name_taken(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Each adapter is served under its Model name, which a request's OpenAI `model` field names
        to get it; the base model answers to the endpoint's name. These names are distinct: no two
        adapters of one endpoint share a Model name (two versions of one adapter), and none is
        named like the endpoint.
    Why it matters:
        The model server registers one model per name: a second one with the same name replaces
        the first or stops the server, and a request could not say which one it wants.
    Wrong: two versions of one adapter
        # file: environments/dev/serving/support-chat.yaml
          adapters:
            - support-sft@1.0
            # Wrong: both versions would answer to `support-sft`.
            - support-sft@1.1
    Right: one version per endpoint
        # file: environments/dev/serving/support-chat.yaml
          adapters:
            # One version of each adapter; another version goes on another endpoint.
            - support-sft@1.1
    """
    for endpoint in env.of_kind("ServingEndpoint"):
        taken = {inference_service_name(endpoint.name): "the base model (the endpoint's name)"}
        for index, reference in enumerate(endpoint.spec.adapters):
            adapter = env.resolve_model(reference).manifest
            if adapter is None:
                continue
            if adapter.name in taken:
                yield Finding(
                    endpoint,
                    ("spec", "adapters", index),
                    f"adapter {adapter.subject} would answer to `{adapter.name}`, the name of "
                    f"{taken[adapter.name]}",
                    "serve one version of an adapter per endpoint, and name adapters unlike the "
                    "endpoint",
                )
            else:
                taken[adapter.name] = adapter.subject


@rule(
    "M009",
    "adapter-rank-unsupported",
    E,
    "An endpoint serves a LoRA adapter of a rank vLLM cannot load.",
    category=Category.LINEAGE,
)
def adapter_rank_unsupported(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Every LoRA adapter an endpoint serves was trained with a rank (its training job's
        `lora_r`, or the trainer's default) that vLLM can load: at most 512. llmops sets vLLM's
        `--max-lora-rank` (an LLMInferenceService's `maxRank`) to the smallest rank vLLM offers
        that holds every adapter's: 1, 8, 16, 32, 64, 128, 256, 320 or 512.
    Why it matters:
        vLLM refuses any other `--max-lora-rank` when it starts, so the whole endpoint, its base
        model too, would never become ready. The rank is fixed when the adapter is trained:
        serving it needs an adapter trained again with a lower `lora_r`.
    Wrong: an adapter whose training job set `lora_r: 1024`
        # file: environments/dev/serving/support-chat.yaml
          adapters:
            # Wrong: trained with rank 1024; vLLM loads adapters of rank 512 at most.
            - support-sft@1.0
    Right: an adapter trained with `lora_r: 64`
        # file: environments/dev/serving/support-chat.yaml
          adapters:
            - support-sft@1.0
    """
    largest = VLLM_LORA_RANKS[-1]
    for endpoint in env.of_kind("ServingEndpoint"):
        for index, reference in enumerate(endpoint.spec.adapters):
            adapter = env.resolve_model(reference).manifest
            if adapter is None:
                continue
            rank = adapter_rank(env, adapter)
            if rank is None or rank <= largest:
                continue
            job = _trained_by(env, adapter)
            yield Finding(
                endpoint,
                ("spec", "adapters", index),
                f"adapter {adapter.subject} was trained with LoRA rank {rank}; vLLM loads adapters "
                f"of rank {largest} at most, and would not start",
                f"train the adapter again with lora_r of {largest} or less (a new version), and "
                "serve that",
                related=()
                if job is None
                else (
                    RelatedPlace(
                        job,
                        ("spec", "trainJobSpec", "hyperparameters", "lora_r"),
                        "the rank it was trained with",
                    ),
                ),
            )


def _trained_by(
    env: ResolvedEnvironment, adapter: Manifest[ModelSpec]
) -> Manifest[TrainingJobSpec] | None:
    if adapter.spec.trained_by is None:
        return None
    return training_job(env, adapter.spec.trained_by)[1]


@rule(
    "M011",
    "base-model-cycle",
    E,
    "A model's chain of base models leads back to itself.",
    category=Category.LINEAGE,
)
def base_model_cycle(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Following `baseModel` from model to model ends at a model without one (a base model
        trained by nobody here): it never comes back to a model already on the way, itself
        included.
    Why it matters:
        A lineage is where a model comes from. A loop names no origin, so what it was trained on,
        and the approvals and capacity facts that follow the chain, rest on nothing; `llmops
        lineage` would show each model fine-tuned on the other.
    Wrong: two models, each the other's base
        # file: environments/dev/catalog/support-sft.yaml
          type: fine-tuned
          # Wrong: support-base@1.0 names support-sft@1.0 as its base.
          baseModel: support-base@1.0
    Right: the chain ends at a base model
        # file: environments/dev/catalog/support-sft.yaml
          type: fine-tuned
          baseModel: support-base@1.0
    """
    for model in env.of_kind("Model"):
        if model.spec.base_model is None:
            continue
        seen = [model]
        current = model
        while current.spec.base_model is not None and len(seen) <= MAX_LINEAGE_DEPTH:
            base = env.resolve_model(current.spec.base_model).manifest
            if base is None:  # M001 reports it
                break
            if base is model:
                chain = " -> ".join(step.subject for step in [*seen, model])
                yield Finding(
                    model,
                    ("spec", "baseModel"),
                    f"the chain of base models comes back to {model.subject}: {chain}",
                    "end the chain at the model the others were trained from, without baseModel",
                )
                break
            if any(step is base for step in seen):  # a loop further up, reported at its models
                break
            seen.append(base)
            current = base


CHECKS = (
    unresolved_lineage_ref,
    base_model_mismatch,
    trained_model_storage_mismatch,
    derived_model_metadata_mismatch,
    training_output_mismatch,
    adapter_served_on_wrong_base,
    adapters_need_vllm,
    adapter_rank_unsupported,
    adapter_name_taken,
    base_model_cycle,
)
