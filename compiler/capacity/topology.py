"""How many GPUs an endpoint's replicas take: nodes per replica, GPUs per node, and the prefill
replicas of a prefill/decode split (LLMInferenceService backend).

A replica spans `parallelism.nodes` nodes with `deploymentSpec.resources.gpus` GPUs each; one
data-parallel rank per node holds the whole model (KServe's multi-node presets are data-parallel),
so the per-GPU arithmetic is that of one node's ranks. A prefill replica holds the whole model too,
on its own GPUs (`prefill.gpus`, default the endpoint's).

    GPUs = replicas x nodes x GPUs per node + prefill replicas x prefill nodes x prefill GPUs

The prefill replicas are an endpoint of their own for the arithmetic and the renderer
(`prefill_endpoint`): the endpoint's spec with the prefill's replicas, GPUs and parallelism.
"""

from __future__ import annotations

import dataclasses

from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.spec.llm_inference_service import Parallelism
from compiler.spec.serving import DeploymentSpec, ServingEndpointSpec

PREFILL = ("spec", "prefill")


def nodes(parallelism: Parallelism | None) -> int:
    return parallelism.nodes if parallelism is not None else 1


def ranks_per_node(parallelism: Parallelism | None) -> int:
    return parallelism.data if parallelism is not None else 1


def gpus_per_node(spec: ServingEndpointSpec) -> int:
    deployment = spec.deployment_spec
    return deployment.resources.gpus if deployment is not None else 0


def replica_gpus(spec: ServingEndpointSpec) -> int:
    """GPUs one (decode) replica takes over all its nodes."""
    return gpus_per_node(spec) * nodes(spec.parallelism)


def prefill_gpus_per_node(spec: ServingEndpointSpec) -> int:
    prefill = spec.prefill
    if prefill is None:
        return 0
    return prefill.gpus if prefill.gpus is not None else gpus_per_node(spec)


def prefill_replica_gpus(spec: ServingEndpointSpec) -> int:
    """GPUs one prefill replica takes over all its nodes (0 without prefill)."""
    prefill = spec.prefill
    if prefill is None:
        return 0
    return prefill_gpus_per_node(spec) * nodes(prefill.parallelism)


def gpus_at(spec: ServingEndpointSpec, *, at_max: bool = False) -> int:
    """GPUs the endpoint takes at its minReplicas (or maxReplicas), prefill replicas included."""
    replicas = spec.max_replicas if at_max else spec.min_replicas
    total = replica_gpus(spec) * replicas
    prefill = spec.prefill
    if prefill is not None:
        prefill_replicas = prefill.max_replicas if at_max else prefill.min_replicas
        total += prefill_replica_gpus(spec) * prefill_replicas
    return total


def _prefill_spec(spec: ServingEndpointSpec) -> ServingEndpointSpec:
    prefill = spec.prefill
    assert prefill is not None
    deployment = spec.deployment_spec or DeploymentSpec()
    resources = deployment.resources
    if prefill.gpus is not None:
        resources = resources.model_copy(update={"gpus": prefill.gpus})
    return spec.model_copy(
        update={
            "min_replicas": prefill.min_replicas,
            "max_replicas": prefill.max_replicas,
            "autoscale_policy": None,
            "use_gpu": resources.gpus > 0,
            "deployment_spec": deployment.model_copy(
                update={
                    "resources": resources,
                    "use_gpu": resources.gpus > 0 if deployment.use_gpu is not None else None,
                }
            ),
            "parallelism": prefill.parallelism,
            "prefill": None,
            "canary": None,
        }
    )


def prefill_endpoint(
    env: ResolvedEnvironment, endpoint: Manifest[ServingEndpointSpec]
) -> Manifest[ServingEndpointSpec] | None:
    """The endpoint's prefill replicas as an endpoint of the same name and source (its replicas,
    GPUs and parallelism are the prefill's), or None without prefill. One object per endpoint, so
    the capacity arithmetic remembered for it is computed once."""
    if endpoint.spec.prefill is None:
        return None
    return env.remember(
        ("prefill-endpoint", endpoint),
        lambda: dataclasses.replace(endpoint, spec=_prefill_spec(endpoint.spec)),
    )
