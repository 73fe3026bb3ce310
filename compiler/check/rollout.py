"""Rollout safety and KServe drift (code family E, continued): what the cluster does with what we
render.

A GPU endpoint rolls without surge unless the environment keeps spare GPUs
(`compiler/render/kserve.py`, `rollout_strategy`), so one replica means an outage on every rollout.
Annotations on a ServingEndpoint are copied onto its InferenceService; some of them KServe ignores
in Standard (raw Deployment) mode, the only mode llmops renders, and some llmops itself sets. Either
way the manifest says something the cluster does not do, which users would otherwise learn from
drift.
"""

from __future__ import annotations

from collections.abc import Iterator

from compiler.check.rule import Finding, RelatedPlace, rule
from compiler.check.serving import gpu_count
from compiler.diagnostics import Category, Severity
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.spec.serving import ServingEndpointSpec
from compiler.target.kserve_versions import (
    AUTOSCALER_CLASS_ANNOTATION,
    DEPLOYMENT_MODE_ANNOTATION,
    raw_deployment_mode,
)

W = Severity.WARNING
PRODUCTION_NAMES = frozenset({"prod", "production"})
KNATIVE_PREFIXES = (
    "autoscaling.knative.dev/",
    "serving.knative.dev/",
    "features.knative.dev/",
    "networking.knative.dev/",
)
# Deprecated by kserve/kserve#4349 (2025): the HPA follows spec.predictor.scaleMetric and
# scaleTarget.
DEPRECATED_SCALING_ANNOTATIONS = frozenset(
    {"serving.kserve.io/metrics", "serving.kserve.io/targetUtilizationPercentage"}
)


@rule(
    "E005",
    "single-replica-gpu-in-production",
    W,
    "A production GPU endpoint runs a single replica.",
    category=Category.SERVING,
)
def single_replica_gpu_in_production(env: ResolvedEnvironment) -> Iterator[Finding]:
    """In an environment named `prod` or `production`, a GPU endpoint with `minReplicas` below 2 is
    down whenever its one pod is: on every rollout when the environment keeps fewer `gpu.spareGpus`
    than a replica needs (the rollout replaces the pod instead of surging, so it never waits for a
    GPU), and on any node failure or eviction otherwise. Fix: minReplicas: 2 (or a `replicas.min`
    policy)."""
    if env.name not in PRODUCTION_NAMES:
        return
    for endpoint in env.of_kind("ServingEndpoint"):
        gpus = gpu_count(endpoint)
        if gpus == 0 or endpoint.spec.min_replicas >= 2:
            continue
        spare = env.settings.gpu.spare_gpus
        why = (
            "every rollout takes it down (without a spare GPU the rollout replaces its only pod, "
            "maxSurge 0)"
            if spare < gpus
            else "a node failure or eviction takes it down"
        )
        yield Finding(
            endpoint,
            ("spec", "minReplicas"),
            f"minReplicas is {endpoint.spec.min_replicas} for a GPU endpoint in `{env.name}`; "
            f"{why}",
            "set minReplicas: 2 (and maxReplicas >= 2)",
        )


@rule(
    "E006",
    "annotation-ignored-by-kserve",
    W,
    "An endpoint annotation that KServe ignores or llmops replaces.",
    category=Category.SERVING,
)
def annotation_ignored_by_kserve(env: ResolvedEnvironment) -> Iterator[Finding]:
    """Endpoint annotations are copied onto the InferenceService. In Standard (raw Deployment) mode
    KServe runs no Knative, so `autoscaling.knative.dev/*` (scale bounds, concurrency targets, the
    autoscaler class) and other Knative annotations do nothing; `serving.kserve.io/metrics` and
    `serving.kserve.io/targetUtilizationPercentage` are deprecated (kserve/kserve#4349) for the
    predictor's scaleMetric and scaleTarget, which llmops renders from autoscalePolicy; and
    `serving.kserve.io/deploymentMode` and `serving.kserve.io/autoscalerClass` are set by llmops,
    replacing the manifest's value. Fix: remove the annotation and use minReplicas, maxReplicas and
    autoscalePolicy."""
    mode = raw_deployment_mode(env.settings.kserve.version)
    for endpoint in env.of_kind("ServingEndpoint"):
        for key in endpoint.model.metadata.annotations:
            path = ("metadata", "annotations", key)
            if key.startswith(KNATIVE_PREFIXES):
                yield Finding(
                    endpoint,
                    path,
                    f"annotation `{key}` is for Knative, which KServe's {mode} mode does "
                    "not run: it has no effect",
                    "remove it; scaling follows minReplicas, maxReplicas and autoscalePolicy",
                    key=True,
                )
            elif key in DEPRECATED_SCALING_ANNOTATIONS:
                yield Finding(
                    endpoint,
                    path,
                    f"annotation `{key}` is deprecated in KServe (kserve/kserve#4349): "
                    "the autoscaler follows the scaleMetric and scaleTarget llmops renders",
                    "remove it and set autoscalePolicy.cpuUtilization",
                    key=True,
                    related=_autoscale_place(endpoint),
                )
            elif key in (DEPLOYMENT_MODE_ANNOTATION, AUTOSCALER_CLASS_ANNOTATION):
                yield Finding(
                    endpoint,
                    path,
                    f"annotation `{key}` is set by llmops (deployment mode `{mode}`, autoscaler "
                    "class from minReplicas, maxReplicas and autoscalePolicy): this value is "
                    "replaced",
                    "remove it",
                    key=True,
                )


def _autoscale_place(endpoint: Manifest[ServingEndpointSpec]) -> tuple[RelatedPlace, ...]:
    if endpoint.spec.autoscale_policy is None:
        return ()
    return (
        RelatedPlace(
            endpoint, ("spec", "autoscalePolicy", "cpuUtilization"), "the rendered scaleTarget"
        ),
    )


CHECKS = (single_replica_gpu_in_production, annotation_ignored_by_kserve)
