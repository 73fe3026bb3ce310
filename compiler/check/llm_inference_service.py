"""The LLMInferenceService backend (code family E, continued): whether the environment's KServe
has it, and what of an endpoint it can serve as written."""

from __future__ import annotations

from collections.abc import Iterator

from compiler.capacity import topology
from compiler.check.rule import Finding, rule
from compiler.check.serving import gpu_count
from compiler.diagnostics import Category, Severity
from compiler.positions import Path
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.resolve.serving_backend import is_llm_inference_service
from compiler.spec.llm_inference_service import Parallelism
from compiler.spec.serving import Prefill, ServingEndpointSpec
from compiler.target.kserve_versions import (
    serves_llm_inference_service,
    serves_llm_route_groups,
)

E = Severity.ERROR


def _backend_place(
    env: ResolvedEnvironment, endpoint: Manifest[ServingEndpointSpec]
) -> tuple[Manifest, Path]:
    """Where the endpoint's backend is chosen: its own `backend`, else the environment's."""
    if endpoint.spec.backend is None and env.settings_manifest is not None:
        return env.settings_manifest, ("spec", "kserve", "backend")
    return endpoint, ("spec", "backend")


@rule(
    "E010",
    "llm-inference-service-unavailable",
    E,
    "An endpoint is served as an LLMInferenceService on a KServe older than 0.16.",
    category=Category.SERVING,
)
def llm_inference_service_unavailable(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Endpoints served as LLMInferenceServices (`backend: llminferenceservice` on the endpoint,
        or `kserve.backend` in environment.yaml) are in an environment whose `kserve.version` is
        0.16 or newer. llmops renders API version `v1alpha1` for 0.16 and `v1alpha2` from 0.17.
    Why it matters:
        KServe added the LLMInferenceService CRD and its controller in 0.16. On an older cluster
        the API server has no such kind: Argo CD's sync fails and the endpoint is not served.
    Wrong: KServe 0.15
        # file: environments/dev/environment.yaml
          kserve:
            version: "0.15"
            backend: llminferenceservice
    Right: KServe 0.16
        # file: environments/dev/environment.yaml
          kserve:
            version: "0.16"
            backend: llminferenceservice
    """
    version = env.settings.kserve.version
    if serves_llm_inference_service(version):
        return
    reported: set[tuple[str, Path]] = set()
    for endpoint in env.of_kind("ServingEndpoint"):
        if not is_llm_inference_service(env, endpoint):
            continue
        manifest, path = _backend_place(env, endpoint)
        if (manifest.file, path) in reported:
            continue
        reported.add((manifest.file, path))
        yield Finding(
            manifest,
            path,
            f"KServe {version} has no LLMInferenceService (it came in KServe 0.16), so endpoint "
            f"`{endpoint.name}` cannot be served as one",
            "set kserve.version to the cluster's release if it is 0.16 or newer, or serve the "
            "endpoint as an InferenceService (backend: inferenceservice)",
        )


def _unsupported(
    env: ResolvedEnvironment, endpoint: Manifest[ServingEndpointSpec]
) -> Iterator[tuple[Path, str, str]]:
    spec = endpoint.spec
    deployment = spec.deployment_spec
    gpus = gpu_count(endpoint)
    if deployment is not None and deployment.serve_target == "EMBEDDING":
        yield (
            ("spec", "deploymentSpec", "serve_target"),
            "an LLMInferenceService serves generation; llmops renders embedding endpoints as "
            "InferenceServices only",
            "serve it with backend: inferenceservice",
        )
    if gpus == 0 and env.settings.kserve.llm_inference_service.image is None:
        yield (
            ("spec", "useGpu"),
            "an LLMInferenceService without GPUs runs KServe's preset vLLM image, a CUDA build "
            "that does not start on CPU",
            "give it GPUs, or name a vLLM CPU image in environment.yaml "
            "(kserve.llmInferenceService.image)",
        )
    if spec.autoscale_policy is not None:
        yield (
            ("spec", "autoscalePolicy"),
            "an LLMInferenceService scales with the Workload Variant Autoscaler, which has no CPU "
            "utilization target",
            "remove autoscalePolicy; minReplicas and maxReplicas bound the autoscaler",
        )
    if spec.min_replicas == 0 and spec.max_replicas > 0:
        yield (
            ("spec", "minReplicas"),
            "an LLMInferenceService that scales keeps at least one replica (scaling.minReplicas "
            "is 1 or more)",
            "set minReplicas: 1",
        )
    version = env.settings.kserve.version
    if spec.canary is not None and not serves_llm_route_groups(version):
        yield (
            ("spec", "canary"),
            f"a canary on an LLMInferenceService joins a KServe route group (router.route.group "
            f"and weight), which KServe {version} does not have (llmops needs KServe 0.20)",
            "set kserve.version to the cluster's release if it is 0.20 or newer, serve the "
            "endpoint with backend: inferenceservice while the canary runs, or remove the canary",
        )
    yield from _parallelism(spec.parallelism, gpus, ("spec", "parallelism"), GPUS_FIELD)
    prefill = spec.prefill
    if prefill is not None:
        yield from _prefill(prefill, gpus)
    yield from _canary_without_gpus(spec)
    if env.settings.pod_security == "baseline":
        yield from _multi_node_capabilities(spec)


def _canary_without_gpus(spec: ServingEndpointSpec) -> Iterator[tuple[Path, str, str]]:
    """A canary keeps the endpoint's nodes and prefill, which need GPUs of its own too."""
    canary = spec.canary
    overrides = canary.deployment_spec if canary is not None else None
    resources = overrides.resources if overrides is not None else None
    if resources is None or resources.gpus > 0:
        return
    asks = [
        what
        for what, asked in (
            ("several nodes per replica", topology.nodes(spec.parallelism) > 1),
            ("prefill replicas", spec.prefill is not None),
        )
        if asked
    ]
    if asks:
        yield (
            ("spec", "canary", "deploymentSpec", "resources", "gpus"),
            f"the canary keeps the endpoint's {' and '.join(asks)}, which need GPUs, and its "
            "resources have none",
            "give the canary GPUs, or leave its resources to the endpoint's",
        )


GPUS_FIELD = "deploymentSpec.resources.gpus"


def _parallelism(
    parallelism: Parallelism | None, gpus: int, place: Path, gpus_field: str
) -> Iterator[tuple[Path, str, str]]:
    """What a replica's (or a prefill replica's) parallelism asks of its GPUs per node."""
    if parallelism is None:
        return
    if parallelism.data > 1 and gpus > 0 and gpus % parallelism.data != 0:
        yield (
            (*place, "data"),
            f"{parallelism.data} data-parallel ranks cannot share {gpus} GPU(s) evenly",
            f"make {gpus_field} a multiple of parallelism.data",
        )
    if parallelism.nodes < 2:
        return
    if gpus == 0:
        yield (
            (*place, "nodes"),
            f"a replica over {parallelism.nodes} nodes runs vLLM data-parallel over the nodes' "
            "GPUs, and this one has none",
            f"give it GPUs ({gpus_field}), or remove parallelism.nodes",
        )
    if parallelism.data > 1:
        yield (
            (*place, "data"),
            f"{parallelism.data} data-parallel ranks per node on {parallelism.nodes} nodes: a "
            "node's first rank would be its LeaderWorkerSet index x ranks per node, which the "
            "vLLM arguments llmops writes cannot compute (they take the index as the rank: one "
            "rank per node)",
            "keep one rank per node (remove parallelism.data): each node's rank is "
            "tensor-parallel over all its GPUs",
        )


def _prefill(prefill: Prefill, gpus: int) -> Iterator[tuple[Path, str, str]]:
    place: Path = ("spec", "prefill")
    prefill_gpus = prefill.gpus if prefill.gpus is not None else gpus
    if gpus == 0:
        yield (
            place,
            "prefill/decode disaggregation moves KV caches between GPUs (vLLM's NixlConnector), "
            "and this endpoint's replicas have no GPUs",
            "give the endpoint GPUs (deploymentSpec.resources.gpus), or remove prefill",
        )
    if prefill.min_replicas > prefill.max_replicas:
        yield (
            (*place, "minReplicas"),
            f"prefill minReplicas {prefill.min_replicas} is above maxReplicas "
            f"{prefill.max_replicas}",
            "set prefill.minReplicas <= prefill.maxReplicas",
        )
    gpus_field = "prefill.gpus" if prefill.gpus is not None else GPUS_FIELD
    yield from _parallelism(prefill.parallelism, prefill_gpus, (*place, "parallelism"), gpus_field)


@rule(
    "E011",
    "llm-inference-service-cannot-serve",
    E,
    "An endpoint asks for what its backend cannot serve as written.",
    category=Category.SERVING,
)
def llm_inference_service_cannot_serve(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        An endpoint served as an LLMInferenceService generates text (no `serve_target:
        EMBEDDING`), runs on GPUs unless the environment names a vLLM CPU image
        (`kserve.llmInferenceService.image`), has no `autoscalePolicy` and a `minReplicas` of at
        least 1 when it scales, names a `canary` only on KServe 0.20 or newer (whose route groups
        split the traffic by weight), and splits its GPUs evenly among `parallelism.data` ranks. A
        replica over several nodes (`parallelism.nodes`) has GPUs and one data-parallel rank per
        node, in an environment with `podSecurity: privileged`; `prefill` needs the endpoint on
        GPUs, prefill minReplicas at most maxReplicas, and
        the same of its own parallelism. An endpoint served as an InferenceService has no
        `parallelism` and no `prefill`.
    Why it matters:
        Each of these would be silently dropped or refused: KServe's preset image is a CUDA build,
        the Workload Variant Autoscaler has no CPU target and no scale to zero, an older KServe
        rejects `router.route.group`, and vLLM refuses
        ranks of unequal size. Over several nodes each pod's first rank is its LeaderWorkerSet
        index (`$(LWS_WORKER_INDEX)` in vLLM's arguments), right only for one rank per node,
        and KServe's multi-node presets add capabilities for RDMA (IPC_LOCK, SYS_RAWIO, NET_RAW)
        that a Namespace at Pod Security `baseline` refuses; prefill/decode moves KV caches
        between GPUs. `parallelism` and `prefill` mean nothing to an InferenceService.
    Wrong: a CPU utilization target
        # file: environments/dev/serving/support-chat.yaml
          maxReplicas: 3
          autoscalePolicy:
            cpuUtilization: 70
    Right: the autoscaler's own bounds
        # file: environments/dev/serving/support-chat.yaml
          minReplicas: 1
          maxReplicas: 3
    """
    for endpoint in env.of_kind("ServingEndpoint"):
        if not is_llm_inference_service(env, endpoint):
            yield from _inference_service_refusals(endpoint)
            continue
        for path, message, hint in _unsupported(env, endpoint):
            yield Finding(endpoint, path, message, hint)


def _multi_node_capabilities(spec: ServingEndpointSpec) -> Iterator[tuple[Path, str, str]]:
    """KServe's multi-node presets (`kserve-config-llm-worker-data-parallel` and the prefill and
    decode ones) add IPC_LOCK, SYS_RAWIO and NET_RAW to the main container, for RDMA; a Namespace
    enforcing Pod Security `baseline` refuses every such pod."""
    places: list[tuple[Path, Parallelism | None]] = [
        (("spec", "parallelism", "nodes"), spec.parallelism)
    ]
    if spec.prefill is not None:
        places.append((("spec", "prefill", "parallelism", "nodes"), spec.prefill.parallelism))
    for path, parallelism in places:
        if parallelism is not None and parallelism.nodes > 1:
            yield (
                path,
                "KServe's multi-node preset adds the capabilities IPC_LOCK, SYS_RAWIO and NET_RAW "
                "to every pod of this replica (for RDMA), which the environment's Namespace, at "
                "Pod Security `baseline`, refuses: no pod would start",
                "set `podSecurity: privileged` in environment.yaml (its Namespace then admits "
                "them), or serve the replica on one node",
            )
            return


def _inference_service_refusals(endpoint: Manifest[ServingEndpointSpec]) -> Iterator[Finding]:
    """What only an LLMInferenceService serves, asked of an endpoint served as an
    InferenceService."""
    spec = endpoint.spec
    parallelism = spec.parallelism
    if parallelism is not None:
        multi_node = parallelism.nodes > 1
        yield Finding(
            endpoint,
            ("spec", "parallelism", "nodes") if multi_node else ("spec", "parallelism"),
            f"endpoint `{endpoint.name}` is served as an InferenceService, which has no "
            + ("multi-node workers" if multi_node else "data or expert parallelism"),
            "serve it with backend: llminferenceservice, or remove parallelism",
        )
    if spec.prefill is not None:
        yield Finding(
            endpoint,
            ("spec", "prefill"),
            f"endpoint `{endpoint.name}` is served as an InferenceService, which has no "
            "prefill/decode disaggregation",
            "serve it with backend: llminferenceservice (KServe 0.16 or newer), or remove prefill",
        )


CHECKS = (llm_inference_service_unavailable, llm_inference_service_cannot_serve)
