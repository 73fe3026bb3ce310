"""ServingEndpoint -> KServe LLMInferenceService (KServe 0.16+: vLLM behind KServe's router).

The object names what differs per endpoint and leaves the rest to KServe's presets
(LLMInferenceServiceConfig `kserve-config-llm-*`): the image, volumes, TLS certificates and the
router's HTTPRoute, InferencePool and scheduler. The main container's `command` and `args` are
written out in full, because a strategic merge replaces the preset's argument list rather than
adding to it: they start vLLM on the preset's port with the preset's certificates, and carry the
DeploymentSpec's limits. LoRA adapters go in `model.lora`, from which KServe downloads them and adds
vLLM's LoRA flags itself. A replica over several nodes adds `worker`, and a prefill/decode split
adds `prefill`, each built like `template` (compiler/render/llm_pods.py says how they are wired).
"""

from __future__ import annotations

import math
from typing import Any

from compiler.capacity.adapters import ServedAdapter, max_lora_rank, served_adapters
from compiler.capacity.topology import nodes, prefill_endpoint, ranks_per_node
from compiler.render.context import RenderContext
from compiler.render.kserve import (
    DTYPE_ARGUMENT,
    VLLM_QUANTIZATION,
    gpu_count,
    gpu_tolerations,
    resources,
    served_model_name,
)
from compiler.render.llm_pods import (
    LEADER,
    VLLM_PORT,
    Pod,
    kv_transfer_args,
    kv_transfer_env,
    multi_node_args,
    vllm_port,
)
from compiler.render.templating import render_template
from compiler.resolve.manifest import Manifest
from compiler.spec.canary import MAX_WEIGHT
from compiler.spec.model import ModelSpec
from compiler.spec.serving import ServingEndpointSpec
from compiler.target import naming
from compiler.target.kserve_versions import llm_inference_service_api_version

KIND = "LLMInferenceService"
ROUTING_GROUP_LABEL = "serving.kserve.io/routing-group"
CONTAINER = "main"  # the container name KServe's presets use; the strategic merge keys on it
VLLM_COMMAND = [
    "vllm",
    "serve",
    "/mnt/models",
]  # KServe's storage initializer mounts the model there
# The certificates KServe issues for each LLMInferenceService and its preset mounts: the scheduler
# and the Gateway reach vLLM over HTTPS.
TLS_ARGS = [
    "--enable-ssl-refresh",
    "--ssl-certfile=/etc/ssl/certs/tls.crt",
    "--ssl-keyfile=/etc/ssl/certs/tls.key",
]
HEALTH_PATH = "/health"
PROBE_PERIOD_SECONDS = 10
STARTUP_BUDGET_SECONDS = 30 * 60  # pulling and loading weights, as for InferenceServices
READY_FAILURES = 3
LIVENESS_FAILURES = 6  # a minute of failed health checks before a restart


def parallelism(endpoint: Manifest[ServingEndpointSpec]) -> dict[str, Any]:
    """Tensor parallelism over each data-parallel rank's share of a node's GPUs; data and expert
    parallelism only when the manifest asks for them. A replica over several nodes has `data` =
    ranks on all nodes and `dataLocal` = ranks per node: KServe sizes its LeaderWorkerSet as
    data / dataLocal nodes."""
    gpus = gpu_count(endpoint)
    asked = endpoint.spec.parallelism
    local = ranks_per_node(asked)
    data = local * nodes(asked)
    result: dict[str, Any] = {}
    if gpus > 0:
        result["tensor"] = max(1, gpus // local)
    if data > 1:
        result["data"] = data
        result["dataLocal"] = local
    if asked is not None and asked.expert:
        result["expert"] = True
    return result


def vllm_args(
    endpoint: Manifest[ServingEndpointSpec],
    model: Manifest[ModelSpec],
    port: int = VLLM_PORT,
    pod: Pod = LEADER,
) -> list[str]:
    """vLLM's own flags (dashed): the served name, the port and the preset's certificates, the
    DeploymentSpec's limits and the model's dtype and quantization, the parallelism, and for a
    prefill/decode split the KV-cache transfer."""
    args = [f"--served-model-name={served_model_name(endpoint)}", f"--port={port}"]
    deployment = endpoint.spec.deployment_spec
    if deployment is not None and deployment.runtime is not None:
        runtime = deployment.runtime
        args.append(f"--max-model-len={runtime.max_input_tokens + runtime.max_output_tokens}")
        args.append(f"--max-num-seqs={runtime.max_concurrent_requests}")
    facts = model.spec.metadata
    if facts.dtype in DTYPE_ARGUMENT:
        args.append(f"--dtype={DTYPE_ARGUMENT[facts.dtype]}")
    if facts.quantization in VLLM_QUANTIZATION and gpu_count(endpoint) > 0:
        args.append(f"--quantization={facts.quantization}")
    split = parallelism(endpoint)
    if split.get("tensor", 1) > 1:
        args.append(f"--tensor-parallel-size={split['tensor']}")
    if split.get("data", 1) > 1:
        args.append(f"--data-parallel-size={split['data']}")
    args += multi_node_args(endpoint, pod)
    if split.get("expert"):
        args.append("--enable-expert-parallel")
    args += kv_transfer_args(pod)
    return args + TLS_ARGS


def _probe(port: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": HEALTH_PATH, "port": port, "scheme": "HTTPS"},
        "periodSeconds": PROBE_PERIOD_SECONDS,
        "failureThreshold": failures,
    }


def container(
    ctx: RenderContext,
    endpoint: Manifest[ServingEndpointSpec],
    model: Manifest[ModelSpec],
    pod: Pod = LEADER,
) -> dict[str, Any]:
    """The vLLM container of one pod: a leader serves on its port with probes; a multi-node
    worker runs headless (no server to probe)."""
    image = ctx.env.settings.kserve.llm_inference_service.image
    port = vllm_port(pod)
    result: dict[str, Any] = {
        "name": CONTAINER,
        **({"image": image} if image else {}),
        "command": list(VLLM_COMMAND),
        "args": vllm_args(endpoint, model, port, pod),
    }
    if pod.kv_transfer:
        result["env"] = kv_transfer_env()
    result["resources"] = resources(ctx, endpoint)
    if not pod.worker:
        result["startupProbe"] = _probe(
            port, math.ceil(STARTUP_BUDGET_SECONDS / PROBE_PERIOD_SECONDS)
        )
        result["readinessProbe"] = _probe(port, READY_FAILURES)
        result["livenessProbe"] = _probe(port, LIVENESS_FAILURES)
    return result


def pod_template(
    ctx: RenderContext,
    endpoint: Manifest[ServingEndpointSpec],
    model: Manifest[ModelSpec],
    pod: Pod = LEADER,
) -> dict[str, Any]:
    """`template` (or `worker`, or the prefill's): the service account, GPU node selection and
    the vLLM container."""
    settings = ctx.env.settings
    gpus = gpu_count(endpoint)
    template: dict[str, Any] = {}
    if settings.service_account_name:
        template["serviceAccountName"] = settings.service_account_name
    if gpus > 0 and settings.gpu.node_selector:
        template["nodeSelector"] = dict(settings.gpu.node_selector)
    tolerations = gpu_tolerations(ctx) if gpus > 0 else []
    if tolerations:
        template["tolerations"] = tolerations
    template["containers"] = [container(ctx, endpoint, model, pod)]
    return template


def model_spec(model: Manifest[ModelSpec], name: str, adapters: list[ServedAdapter]) -> Any:
    """`model`: where the weights are and the name vLLM serves them under; LoRA adapters beside."""
    spec: dict[str, Any] = {"uri": str(model.spec.storage_uri), "name": name}
    if adapters:
        lora: dict[str, Any] = {
            "adapters": [
                {"name": a.served_name, "uri": str(a.model.spec.storage_uri)} for a in adapters
            ],
            "maxAdapters": len(adapters),
        }
        rank = max_lora_rank(adapters)
        if rank is not None:
            lora["maxRank"] = rank
        spec["lora"] = lora
    return spec


def scaling(ctx: RenderContext, endpoint: Manifest[ServingEndpointSpec]) -> dict[str, Any]:
    """A fixed size renders `replicas`; a range the Workload Variant Autoscaler with the
    environment's actuator (`scaling` and `replicas` exclude each other)."""
    spec = endpoint.spec
    if spec.min_replicas == spec.max_replicas:
        return {"replicas": spec.min_replicas, "scaling": None}
    autoscaler = ctx.env.settings.kserve.llm_inference_service.autoscaler
    return {
        "replicas": None,
        "scaling": {
            "minReplicas": max(1, spec.min_replicas),  # E011 reports 0
            "maxReplicas": spec.max_replicas,
            "wva": {autoscaler: {}},
        },
    }


def route_group(endpoint: Manifest[ServingEndpointSpec], weight: int) -> dict[str, Any]:
    """KServe's traffic split (0.20+): the endpoint's LLMInferenceService and its canary's join
    one route group, named after the endpoint, each with its share of the traffic; the controller
    writes both members' InferencePools, weighted, into the group's HTTPRoute. Weights are
    proportional, so `100 - w` and `w` are percentages."""
    return {"group": naming.inference_service_name(endpoint.name), "weight": weight}


def router(ctx: RenderContext, route: dict[str, Any] | None = None) -> dict[str, Any]:
    """Empty objects ask KServe for its managed route, Gateway and scheduler (as its samples do);
    the environment may name Gateways instead. `route` is a route group's membership."""
    refs = ctx.env.settings.kserve.llm_inference_service.gateway_refs
    gateway = {"refs": [ref.model_dump() for ref in refs]} if refs else {}
    return {"route": dict(route or {}), "gateway": gateway, "scheduler": {}}


def render_llm_inference_service(
    ctx: RenderContext,
    endpoint: Manifest[ServingEndpointSpec],
    model: Manifest[ModelSpec],
    route: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The endpoint's LLMInferenceService; `route` is its route-group membership when the
    endpoint runs a canary (see route_group)."""
    settings = ctx.env.settings
    canary = endpoint.spec.canary
    if route is None and canary is not None:
        route = route_group(endpoint, MAX_WEIGHT - canary.weight)
    adapters = served_adapters(ctx.env, endpoint)
    metadata = ctx.metadata(
        KIND,
        naming.inference_service_name(endpoint.name),
        endpoint,
        labels={"endpoint": endpoint.name, "model": model.name},
        annotations={"llmops.io/model-version": str(model.version)},
    )
    if route:
        # KServe's webhook adds this label to every group member; writing it keeps Argo CD's
        # diff clean.
        metadata["labels"][ROUTING_GROUP_LABEL] = route["group"]
    prefill = prefill_endpoint(ctx.env, endpoint)
    split = prefill is not None
    return render_template(
        "kserve/llminferenceservice.json.j2",
        api_version=llm_inference_service_api_version(settings.kserve.version),
        metadata=metadata,
        model=model_spec(model, served_model_name(endpoint), adapters),
        **scaling(ctx, endpoint),
        parallelism=parallelism(endpoint),
        base_refs=[{"name": name} for name in settings.kserve.llm_inference_service.base_refs],
        router=router(ctx, route),
        template=pod_template(ctx, endpoint, model, Pod(decode=split, kv_transfer=split)),
        worker=worker_template(
            ctx, endpoint, model, Pod(worker=True, decode=split, kv_transfer=split)
        ),
        prefill=None if prefill is None else prefill_spec(ctx, prefill, model),
    )


def worker_template(
    ctx: RenderContext,
    endpoint: Manifest[ServingEndpointSpec],
    model: Manifest[ModelSpec],
    pod: Pod,
) -> dict[str, Any] | None:
    """`worker`: the pods of a replica's other nodes, only when it spans more than one."""
    if nodes(endpoint.spec.parallelism) < 2:
        return None
    return pod_template(ctx, endpoint, model, pod)


def prefill_spec(
    ctx: RenderContext, prefill: Manifest[ServingEndpointSpec], model: Manifest[ModelSpec]
) -> dict[str, Any]:
    """`prefill`: the prefill replicas' size, parallelism and pods, written like the endpoint's
    own (prefill_endpoint gives them the prefill's replicas, GPUs and parallelism)."""
    sizes = scaling(ctx, prefill)
    result: dict[str, Any] = {}
    if sizes["replicas"] is not None:
        result["replicas"] = sizes["replicas"]
    else:
        result["scaling"] = sizes["scaling"]
    split = parallelism(prefill)
    if split:
        result["parallelism"] = split
    result["template"] = pod_template(ctx, prefill, model, Pod(kv_transfer=True))
    worker = worker_template(ctx, prefill, model, Pod(worker=True, kv_transfer=True))
    if worker is not None:
        result["worker"] = worker
    return result


def backend_url(
    ctx: RenderContext, endpoint: Manifest[ServingEndpointSpec], name: str | None = None
) -> str:
    """KServe's managed HTTPRoute sends `/<namespace>/<name>/...` of the Gateway to the endpoint's
    scheduler, stripping that prefix: vLLM's OpenAI routes are under `<url>/v1`. This path
    reaches the one LLMInferenceService `name` (default: the endpoint's) even inside a route
    group, which is how the proxy's sticky split addresses each variant."""
    gateway = ctx.env.settings.kserve.llm_inference_service.gateway_url.rstrip("/")
    return f"{gateway}/{ctx.namespace}/{name or naming.inference_service_name(endpoint.name)}"


def proxy_backend(
    ctx: RenderContext, endpoint: Manifest[ServingEndpointSpec], name: str | None = None
) -> dict[str, str]:
    """The proxy configuration's `backend` for an LLMInferenceService: vLLM's own OpenAI server
    (routes under `/v1`, readiness at `/health`) behind KServe's route."""
    return {
        "url": backend_url(ctx, endpoint, name),
        "api": "vllm-openai",
        "openaiPrefix": "/v1",
        "servedModelName": served_model_name(endpoint),
    }
