"""Lineage: which job made a Model, from which base model and dataset, and where it wrote.

One place that answers it for the checks (the M rules), the approval digest, the renderer and
`llmops lineage`, so they never follow different links.
"""

from __future__ import annotations

from typing import Any

from compiler.records import record
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.spec.dataset import DatasetSpec
from compiler.spec.model import ModelSpec
from compiler.spec.serving import ServingEndpointSpec
from compiler.spec.training import TrainingJobSpec, written_to


def job_output_uri(env: ResolvedEnvironment, job: Manifest[TrainingJobSpec]) -> str:
    """Where the job's trainer writes: the job's output.storageUri, or the environment's
    training.outputUri plus the job's name."""
    return written_to(job.spec, job.name, env.settings.training.output_uri)


def same_uri(first: str, second: str) -> bool:
    """Storage URIs naming the same folder: a trailing slash does not matter."""
    return first.rstrip("/") == second.rstrip("/")


@record(eq=False, repr=False)
class Lineage:
    """What one Model comes from, as far as the environment says (None where a link is absent)."""

    model: Manifest[ModelSpec]
    base: Manifest[ModelSpec] | None
    job: Manifest[TrainingJobSpec] | None
    dataset: Manifest[DatasetSpec] | None
    job_base: Manifest[ModelSpec] | None  # the job's own modelId, to compare with `base`
    job_environment: str | None  # where the job is defined


def split_trained_by(reference: str) -> tuple[str | None, str]:
    """`customer-support-sft` -> (None, name): a job of the model's own environment;
    `dev/customer-support-sft` -> ("dev", name): a job of another environment (a model trained in
    dev and promoted to prod names the dev job)."""
    environment, slash, name = reference.rpartition("/")
    return (environment, name) if slash else (None, reference)


def job_environment(env: ResolvedEnvironment, reference: str) -> ResolvedEnvironment | None:
    """The environment `trainedBy` points into (None: one this run did not load or that does not
    exist)."""
    environment, _ = split_trained_by(reference)
    if environment is None or environment == env.name:
        return env
    return env.peers.get(environment)


def training_job(
    env: ResolvedEnvironment, reference: str
) -> tuple[ResolvedEnvironment | None, Manifest[TrainingJobSpec] | None]:
    """The job `trainedBy` names, and the environment it resolved in."""
    where = job_environment(env, reference)
    if where is None:
        return None, None
    return where, where.resolve_named("TrainingJob", split_trained_by(reference)[1]).manifest


def lineage_of(env: ResolvedEnvironment, model: Manifest[ModelSpec]) -> Lineage:
    spec = model.spec
    base = env.resolve_model(spec.base_model).manifest if spec.base_model else None
    job_env, job = training_job(env, spec.trained_by) if spec.trained_by else (None, None)
    dataset = job_base = None
    if job_env is not None and job is not None:
        dataset = job_env.resolve_dataset(job.spec.dataset_id).manifest
        job_base = job_env.resolve_model(job.spec.model_id).manifest
    return Lineage(model, base, job, dataset, job_base, job_env.name if job_env else None)


def ancestry(env: ResolvedEnvironment, model: Manifest[ModelSpec]) -> list[Lineage]:
    """The model's lineage, then its base's, and so on (a cycle or a missing base ends it)."""
    chain: list[Lineage] = []
    seen: set[int] = set()
    current: Manifest[ModelSpec] | None = model
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        step = lineage_of(env, current)
        chain.append(step)
        current = step.base
    return chain


def produced_model(job: Manifest[TrainingJobSpec]) -> str | None:
    """The `name@version` reference the job's output.model writes, if any."""
    output = job.spec.output
    return output.model if output is not None else None


def jobs_producing(
    env: ResolvedEnvironment, model: Manifest[ModelSpec]
) -> list[Manifest[TrainingJobSpec]]:
    """TrainingJobs whose output.model names this model."""
    found = []
    for job in env.of_kind("TrainingJob"):
        reference = produced_model(job)
        if reference is not None and env.resolve_model(reference).manifest is model:
            found.append(job)
    return found


def served_models(
    env: ResolvedEnvironment, endpoint: Manifest[ServingEndpointSpec]
) -> list[Manifest[ModelSpec]]:
    """The endpoint's model, then its adapters (those that resolve), in the manifest's order."""
    found = []
    for reference in (endpoint.spec.model_id, *endpoint.spec.adapters):
        model = env.resolve_model(reference).manifest
        if model is not None and model not in found:
            found.append(model)
    return found


def endpoints_serving(
    env: ResolvedEnvironment, model: Manifest[ModelSpec]
) -> list[Manifest[ServingEndpointSpec]]:
    """Endpoints whose modelId is this model, or that serve it as an adapter."""
    found = []
    for endpoint in env.of_kind("ServingEndpoint"):
        references = [endpoint.spec.model_id, *endpoint.spec.adapters]
        if any(env.resolve_model(reference).manifest is model for reference in references):
            found.append(endpoint)
    return found


def _identity(manifest: Manifest) -> dict[str, Any]:
    """A manifest as what would be deployed: kind, name and spec in canonical form."""
    return {
        "kind": manifest.kind,
        "name": manifest.name,
        "spec": manifest.spec.model_dump(mode="json", by_alias=True, exclude_none=True),
    }


def made_by(env: ResolvedEnvironment, model: Manifest[ModelSpec]) -> dict[str, Any] | None:
    """What an approval of a trained model also covers: the job that made it (and the environment
    it is defined in) and that job's dataset, as their manifests stand; None when `trainedBy`
    names no job."""
    step = lineage_of(env, model)
    if step.job is None:
        return None
    return {
        "environment": step.job_environment,
        "job": _identity(step.job),
        "dataset": _identity(step.dataset) if step.dataset is not None else None,
    }
