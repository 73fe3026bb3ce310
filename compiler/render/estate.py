"""Render a resolved estate: each environment's objects, plus the Argo CD objects that deploy
them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compiler.render import (
    canary,
    ingress,
    kserve,
    llm_inference_service,
    namespace,
    proxy,
    proxy_config,
    training,
)
from compiler.render.argocd import render_argocd
from compiler.render.context import RenderContext
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.estate import ResolvedEstate
from compiler.resolve.lineage import split_trained_by
from compiler.resolve.serving_backend import is_llm_inference_service

ARGOCD_GROUP = "_argocd"
# The order objects are written in: what must exist first comes first (the same as the sync waves).
KIND_ORDER = (
    "Namespace",
    "ConfigMap",
    "Service",
    "Deployment",
    "InferenceService",
    "LLMInferenceService",
    "Ingress",
    "Job",
    "TrainJob",
    "AppProject",
    "Application",
)


@dataclass
class RenderedEstate:
    """Objects per group: one group per environment, and `_argocd` for the Argo CD objects."""

    groups: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def order_objects(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rank = {kind: index for index, kind in enumerate(KIND_ORDER)}
    return sorted(
        objects,
        key=lambda o: (
            rank.get(o["kind"], len(rank)),
            o["metadata"].get("namespace", ""),
            o["metadata"]["name"],
        ),
    )


def render_environment(env: ResolvedEnvironment) -> list[dict[str, Any]]:
    """Every object of one environment, in apply order. The environment must have validated
    cleanly."""
    ctx = RenderContext(env)
    objects: list[dict[str, Any]] = [namespace.render_namespace(ctx)]
    served = proxy_config.served_endpoints(env)
    for endpoint, model in served:
        if is_llm_inference_service(env, endpoint):
            objects.append(llm_inference_service.render_llm_inference_service(ctx, endpoint, model))
        else:
            objects.append(kserve.render_inference_service(ctx, endpoint, model))
        objects.extend(canary.render_canary(ctx, endpoint))
        objects.append(ingress.render_endpoint_ingress(ctx, endpoint))
    for job in env.of_kind("TrainingJob"):
        base = env.resolve_model(job.spec.model_id).manifest
        dataset = env.resolve_dataset(job.spec.dataset_id).manifest
        assert base is not None and dataset is not None, "render needs a validated estate"
        objects.extend(training.render_training_job(ctx, job, base, dataset))
    config_text = proxy_config.environment_proxy_text(ctx, served)
    objects.extend(proxy.render_proxy(ctx, config_text))
    objects.append(ingress.render_platform_ingress(ctx))
    return order_objects(objects)


def render_reads(env: ResolvedEnvironment) -> set[str]:
    """The environments whose manifests rendering ``env`` may read: itself, those its models'
    `trainedBy` names (a job's output), and the one its promotion policy names."""
    names = {env.name}
    if env.settings.promotion.requires is not None:
        names.add(env.settings.promotion.requires)
    for model in env.of_kind("Model"):
        if model.spec.trained_by is not None:
            names.add(split_trained_by(model.spec.trained_by)[0] or env.name)
    return names


def render_estate(estate: ResolvedEstate, *, include_argocd: bool = True) -> RenderedEstate:
    rendered = RenderedEstate()
    for env in estate.environments:
        rendered.groups[env.name] = render_environment(env)
    if include_argocd:
        argocd_objects = render_argocd(estate.environments)
        if argocd_objects:
            rendered.groups[ARGOCD_GROUP] = order_objects(argocd_objects)
    return rendered
