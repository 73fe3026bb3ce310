"""Which live objects to read: the InferenceServices, training Jobs and Argo CD Application that the
current revision renders, found in the rendered objects themselves so the names always agree with
`llmops render` (content-hashed Job names, the training backend, the Application's namespace)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compiler.records import record
from compiler.render.argocd import render_argocd
from compiler.render.estate import render_environment
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.estate import ResolvedEstate
from compiler.target.canary import VARIANT_LABEL
from llmops.status.model import ObjectRef

ENDPOINT_LABEL = "llmops.io/endpoint"
TRAINING_JOB_LABEL = "llmops.io/training-job"
TRAINING_KINDS = ("Job", "TrainJob")
ENDPOINT_KINDS = ("InferenceService", "LLMInferenceService")


@record
class EndpointTarget:
    name: str
    object: ObjectRef
    rendered: dict[str, Any]


@record
class TrainingJobTarget:
    name: str
    object: ObjectRef


@dataclass
class EnvironmentTarget:
    name: str
    namespace: str
    application: ObjectRef | None  # None: the environment names no Argo CD repository
    endpoints: list[EndpointTarget] = field(default_factory=list)
    training_jobs: list[TrainingJobTarget] = field(default_factory=list)


def object_ref(obj: dict[str, Any]) -> ObjectRef:
    metadata = obj["metadata"]
    return ObjectRef(
        api_version=obj["apiVersion"],
        kind=obj["kind"],
        namespace=metadata["namespace"],
        name=metadata["name"],
    )


def endpoint_row(labels: dict[str, str]) -> str:
    """How an InferenceService is named in the status: its endpoint, and `(canary)` for the
    endpoint's canary (each variant gets its own verdict)."""
    name = labels[ENDPOINT_LABEL]
    return canary_row_name(name) if labels.get(VARIANT_LABEL) == "canary" else name


def canary_row_name(endpoint: str) -> str:
    """The status row of an endpoint's canary."""
    return f"{endpoint} (canary)"


def environment_target(env: ResolvedEnvironment) -> EnvironmentTarget:
    """What to read for one environment. It must have validated cleanly (rendering needs that)."""
    objects = render_environment(env)
    application = next(
        (object_ref(obj) for obj in render_argocd([env]) if obj["kind"] == "Application"), None
    )
    target = EnvironmentTarget(name=env.name, namespace=env.namespace, application=application)
    for obj in objects:
        labels = obj["metadata"].get("labels", {})
        if obj["kind"] in ENDPOINT_KINDS:
            target.endpoints.append(EndpointTarget(endpoint_row(labels), object_ref(obj), obj))
        elif obj["kind"] in TRAINING_KINDS:
            target.training_jobs.append(
                TrainingJobTarget(labels[TRAINING_JOB_LABEL], object_ref(obj))
            )
    target.endpoints.sort(key=lambda e: e.name)
    target.training_jobs.sort(key=lambda j: j.name)
    return target


def estate_targets(estate: ResolvedEstate) -> list[EnvironmentTarget]:
    return [environment_target(env) for env in estate.environments]
