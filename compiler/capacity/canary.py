"""The canary as a workload of its own: its model, replicas and resources.

A canary runs as a second InferenceService. Its replicas follow its share of the traffic, so that
raising the weight also raises what it may use:

    canary minReplicas = max(1, ceil(endpoint minReplicas * weight / 100))
    canary maxReplicas = max(1, ceil(endpoint maxReplicas * weight / 100))

At least one replica even at weight 0, so the canary is loaded and its health is visible before it
takes traffic. Each replica gets the endpoint's deploymentSpec, with the canary's own `resources`
and `runtime` where it writes them. It autoscales like the endpoint when its bounds differ. On the
LLMInferenceService backend it keeps the endpoint's `parallelism` (nodes per replica) and
`prefill`, whose replicas follow the weight by the same formula.
"""

from __future__ import annotations

import dataclasses
import math

from compiler.capacity.topology import gpus_at
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.spec.serving import DeploymentSpec, ServingEndpointSpec


def canary_replicas(replicas: int, weight: int) -> int:
    return max(1, math.ceil(replicas * weight / 100))


def _canary_spec(spec: ServingEndpointSpec) -> ServingEndpointSpec:
    canary = spec.canary
    assert canary is not None
    deployment = spec.deployment_spec or DeploymentSpec()
    overrides = canary.deployment_spec
    resources = deployment.resources
    runtime = deployment.runtime
    if overrides is not None:
        resources = overrides.resources or resources
        runtime = overrides.runtime or runtime
    low = canary_replicas(spec.min_replicas, canary.weight)
    high = canary_replicas(spec.max_replicas, canary.weight)
    prefill = spec.prefill
    if prefill is not None:  # the canary's prefill replicas follow its share too
        prefill = prefill.model_copy(
            update={
                "min_replicas": canary_replicas(prefill.min_replicas, canary.weight),
                "max_replicas": canary_replicas(prefill.max_replicas, canary.weight),
            }
        )
    changes = {
        "model_ref": canary.model if deployment.model_ref is not None else None,
        "resources": resources,
        "runtime": runtime,
        "use_gpu": resources.gpus > 0 if deployment.use_gpu is not None else None,
    }
    return spec.model_copy(
        update={
            "model_id": canary.model,
            "min_replicas": low,
            "max_replicas": high,
            "autoscale_policy": spec.autoscale_policy if low != high else None,
            "use_gpu": resources.gpus > 0,
            "deployment_spec": deployment.model_copy(update=changes),
            "prefill": prefill,
            "canary": None,
        }
    )


def canary_endpoint(
    env: ResolvedEnvironment, endpoint: Manifest[ServingEndpointSpec]
) -> Manifest[ServingEndpointSpec] | None:
    """The canary as an endpoint of the same name and source (its served model name is the
    endpoint's, so callers see one model), or None without a canary. One object per endpoint, so
    the capacity arithmetic remembered for it is computed once."""
    if endpoint.spec.canary is None:
        return None
    return env.remember(
        ("canary-endpoint", endpoint),
        lambda: dataclasses.replace(endpoint, spec=_canary_spec(endpoint.spec)),
    )


def endpoints_with_canaries(
    env: ResolvedEnvironment,
) -> list[tuple[Manifest[ServingEndpointSpec], Manifest[ServingEndpointSpec]]]:
    """(endpoint, its canary) for every endpoint of the environment that names one."""
    pairs = []
    for endpoint in env.of_kind("ServingEndpoint"):
        canary = canary_endpoint(env, endpoint)
        if canary is not None:
            pairs.append((endpoint, canary))
    return pairs


def spare_gpus_left(env: ResolvedEnvironment) -> int:
    """The environment's `gpu.spareGpus` less what its canaries take at their minReplicas: what a
    rollout may still surge into. Computed once per environment and run (every GPU endpoint's
    rollout asks)."""

    def compute() -> int:
        taken = sum(canary_gpus(canary) for _, canary in endpoints_with_canaries(env))
        return max(0, env.settings.gpu.spare_gpus - taken)

    # the cache is shared by the run's environments: the key names this one
    spare: int = env.remember(("spare-gpus-left", id(env)), compute)
    return spare


def canary_gpus(canary: Manifest[ServingEndpointSpec]) -> int:
    """GPUs a canary's InferenceService (or LLMInferenceService: all nodes of each replica, and
    its prefill replicas) requests at its minReplicas."""
    return gpus_at(canary.spec)
