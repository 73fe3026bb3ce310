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

from compiler.capacity.topology import replica_gpus
from compiler.check.rule import Finding, RelatedPlace, rule
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
    """What it checks:
        In an environment named `prod` or `production`, every GPU endpoint has `minReplicas` of at
        least 2. The message says why one is not enough there: without enough `gpu.spareGpus` for a
        replica, a rollout replaces the one pod instead of surging beside it.
    Why it matters:
        With one replica the endpoint is down whenever its pod is: on every rollout (a new model
        version, a changed setting) when no spare GPU lets a second pod start first, and on any node
        failure or eviction. A warning, since the environment may accept it; a `replicas.min` policy
        makes it an error everywhere (P010).
    Wrong: one GPU replica in prod
        # file: environments/prod/serving/support-chat.yaml
          minReplicas: 1
          maxReplicas: 2
          useGpu: true
    Right: two replicas, so a rollout replaces one while the other serves
        # file: environments/prod/serving/support-chat.yaml
          minReplicas: 2
          maxReplicas: 2
          useGpu: true
    """
    if env.name not in PRODUCTION_NAMES:
        return
    for endpoint in env.of_kind("ServingEndpoint"):
        gpus = replica_gpus(endpoint.spec)  # a surge replica needs all its nodes' GPUs
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
    """What it checks:
        Endpoint annotations are copied onto the InferenceService. This reports those that do
        nothing there or are replaced: Knative's (`autoscaling.knative.dev/*` and the like: KServe's
        Standard, raw Deployment, mode runs no Knative), the deprecated `serving.kserve.io/metrics`
        and `serving.kserve.io/targetUtilizationPercentage` (kserve/kserve#4349), and
        `serving.kserve.io/deploymentMode` and `serving.kserve.io/autoscalerClass`, which llmops
        sets itself.
    Why it matters:
        Such an annotation looks like configuration (a concurrency target, a serverless mode) but
        has no effect, so the endpoint behaves differently from what its manifest seems to say.
        Scaling is set with `minReplicas`, `maxReplicas` and `autoscalePolicy`, which llmops renders
        as the predictor's scale settings.
    Wrong: a Knative target and a deployment mode
        # file: environments/dev/serving/support-chat.yaml
          annotations:
            # Wrong: Knative's concurrency target does nothing in KServe's Standard (raw...
            autoscaling.knative.dev/target: "10"
            # and llmops sets the deployment mode itself.
            serving.kserve.io/deploymentMode: Serverless
    Right: annotations for people; scaling in the spec
        # file: environments/dev/serving/support-chat.yaml
          annotations:
            # Right: a note for people; scaling is minReplicas, maxReplicas and autoscalePolicy.
            example.com/owner: support-team
        ...
          minReplicas: 1
          maxReplicas: 3
          autoscalePolicy:
            cpuUtilization: 70
    """
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
