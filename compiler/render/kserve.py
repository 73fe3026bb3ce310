"""ServingEndpoint -> KServe InferenceService (v1beta1, `spec.predictor.model`, raw-Deployment
mode)."""

from __future__ import annotations

import math
from typing import Any

from compiler.capacity.adapters import ServedAdapter, served_adapters
from compiler.capacity.canary import spare_gpus_left
from compiler.capacity.endpoint import rendered_cpu_memory
from compiler.render.adapters import lora_args, storage_uris
from compiler.render.context import RenderContext
from compiler.render.templating import render_template
from compiler.resolve.manifest import Manifest
from compiler.spec.model import ModelSpec
from compiler.spec.serving import ServingEndpointSpec
from compiler.target import naming
from compiler.target.kserve_versions import (
    AUTOSCALER_CLASS_ANNOTATION,
    DEPLOYMENT_MODE_ANNOTATION,
    raw_deployment_mode,
)
from compiler.target.pod_resources import ENDPOINT_DEFAULT_RESOURCES

RUNTIME = "kserve-huggingfaceserver"  # pinned: another runtime also claims the huggingface format
MODEL_PORT = 8080
OPENAI_PREFIX = naming.KSERVE_OPENAI_PREFIX
CLUSTER_LOCAL = {"networking.kserve.io/visibility": "cluster-local"}
DEFAULT_RESOURCES = ENDPOINT_DEFAULT_RESOURCES
DEFAULT_SCALE_TARGET = 80  # KServe's own default CPU target, written out so the live object matches
PROBE_PERIOD_SECONDS = 10
# pulling and loading weights: generous, a slow start is not a failure
STARTUP_BUDGET_SECONDS = 30 * 60
DTYPE_ARGUMENT = {
    "bf16": "bfloat16",
    "bfloat16": "bfloat16",
    "fp16": "float16",
    "float16": "float16",
    "fp32": "float32",
    "float32": "float32",
}
VLLM_QUANTIZATION = frozenset({"awq", "gptq", "fp8"})


def gpu_count(endpoint: Manifest[ServingEndpointSpec]) -> int:
    deployment = endpoint.spec.deployment_spec
    return deployment.resources.gpus if deployment is not None else 0


def served_model_name(endpoint: Manifest[ServingEndpointSpec]) -> str:
    return naming.served_model_name(endpoint.name)


def is_embedding(endpoint: Manifest[ServingEndpointSpec]) -> bool:
    deployment = endpoint.spec.deployment_spec
    return deployment is not None and deployment.serve_target == "EMBEDDING"


def backend_name(endpoint: Manifest[ServingEndpointSpec]) -> str:
    """vLLM on GPUs; the plain Hugging Face backend on CPU and for embeddings (whose vLLM task flag
    has changed between vLLM releases, while `--task=text_embedding` is stable)."""
    return "vllm" if gpu_count(endpoint) > 0 and not is_embedding(endpoint) else "huggingface"


def model_args(
    endpoint: Manifest[ServingEndpointSpec],
    model: Manifest[ModelSpec],
    adapters: list[ServedAdapter] | None = None,
) -> list[str]:
    args = [f"--model_name={served_model_name(endpoint)}", f"--backend={backend_name(endpoint)}"]
    deployment = endpoint.spec.deployment_spec
    if deployment is not None and deployment.runtime is not None:
        runtime = deployment.runtime
        args.append(f"--max_model_len={runtime.max_input_tokens + runtime.max_output_tokens}")
    if is_embedding(endpoint):
        args.append("--task=text_embedding")
    facts = model.spec.metadata
    if facts.dtype in DTYPE_ARGUMENT:
        args.append(f"--dtype={DTYPE_ARGUMENT[facts.dtype]}")
    if backend_name(endpoint) == "vllm":
        if facts.quantization in VLLM_QUANTIZATION:
            args.append(f"--quantization={facts.quantization}")
        if gpu_count(endpoint) > 1:
            args.append(f"--tensor-parallel-size={gpu_count(endpoint)}")  # vLLM's dashed spelling
    return args + lora_args(adapters or [])


def resources(
    ctx: RenderContext, endpoint: Manifest[ServingEndpointSpec]
) -> dict[str, dict[str, str]]:
    """Requests equal limits (a guaranteed pod); GPUs only when used, equal in both. A CPU replica
    whose manifest names no memory gets what its model needs (`compiler/capacity/endpoint.py`), so
    the default passes the capacity checks."""
    gpus = gpu_count(endpoint)
    deployment = endpoint.spec.deployment_spec
    defaults = DEFAULT_RESOURCES[gpus > 0]
    written = deployment.resources.memory if deployment else None
    amounts = {
        "cpu": (
            deployment.resources.cpu if deployment and deployment.resources.cpu else defaults["cpu"]
        ),
        "memory": written or rendered_cpu_memory(ctx.env, endpoint) or defaults["memory"],
    }
    if gpus > 0:
        amounts[ctx.env.settings.gpu.resource_name] = str(gpus)
    return {"requests": dict(amounts), "limits": dict(amounts)}


def autoscaling(endpoint: Manifest[ServingEndpointSpec]) -> tuple[str, dict[str, Any]]:
    """The autoscaler class and the predictor fields that go with it."""
    spec = endpoint.spec
    if spec.autoscale_policy is not None:
        return "hpa", {"scaleMetric": "cpu", "scaleTarget": spec.autoscale_policy.cpu_utilization}
    if spec.min_replicas == spec.max_replicas:
        return "none", {}  # a fixed size: KServe creates no HPA and runs minReplicas
    return "hpa", {"scaleMetric": "cpu", "scaleTarget": DEFAULT_SCALE_TARGET}


def rollout_strategy(
    ctx: RenderContext, endpoint: Manifest[ServingEndpointSpec]
) -> dict[str, Any] | None:
    """A rollout that never waits for a GPU the cluster does not have.

    A surge pod needs a whole replica's GPUs; with fewer spare GPUs the rollout would hang with the
    new pod Pending. Then replace one replica at a time instead (a brief capacity dip, no deadlock).
    """
    gpus = gpu_count(endpoint)
    if gpus == 0:
        return None
    if spare_gpus_left(ctx.env) >= gpus:
        return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}


def gpu_tolerations(ctx: RenderContext) -> list[dict[str, str]]:
    """The environment's GPU tolerations as Kubernetes writes them (unset fields left out)."""
    return [
        toleration.model_dump(exclude_none=True) for toleration in ctx.env.settings.gpu.tolerations
    ]


def startup_failure_threshold() -> int:
    return math.ceil(STARTUP_BUDGET_SECONDS / PROBE_PERIOD_SECONDS)


def render_inference_service(
    ctx: RenderContext, endpoint: Manifest[ServingEndpointSpec], model: Manifest[ModelSpec]
) -> dict[str, Any]:
    autoscaler_class, scaling = autoscaling(endpoint)
    gpus = gpu_count(endpoint)
    adapters = served_adapters(ctx.env, endpoint)
    metadata = ctx.metadata(
        "InferenceService",
        naming.inference_service_name(endpoint.name),
        endpoint,
        labels={"endpoint": endpoint.name, "model": model.name},
        annotations={
            DEPLOYMENT_MODE_ANNOTATION: raw_deployment_mode(ctx.env.settings.kserve.version),
            AUTOSCALER_CLASS_ANNOTATION: autoscaler_class,
            "llmops.io/model-version": str(model.version),
        },
    )
    metadata["labels"].update(CLUSTER_LOCAL)
    return render_template(
        "kserve/inferenceservice.json.j2",
        metadata=metadata,
        min_replicas=endpoint.spec.min_replicas,
        max_replicas=endpoint.spec.max_replicas,
        scaling=scaling,
        strategy=rollout_strategy(ctx, endpoint),
        node_selector=dict(ctx.env.settings.gpu.node_selector) if gpus > 0 else {},
        tolerations=gpu_tolerations(ctx) if gpus > 0 else [],
        service_account=ctx.env.settings.service_account_name,
        runtime=RUNTIME,
        storage_uri=None if adapters else model.spec.storage_uri,
        storage_uris=storage_uris(model, adapters) if adapters else [],
        args=model_args(endpoint, model, adapters),
        resources=resources(ctx, endpoint),
        probe_path=f"/v1/models/{served_model_name(endpoint)}",
        port=MODEL_PORT,
        period=PROBE_PERIOD_SECONDS,
        startup_failure_threshold=startup_failure_threshold(),
    )


def backend_url(ctx: RenderContext, endpoint: Manifest[ServingEndpointSpec]) -> str:
    return naming.predictor_url(endpoint.name, ctx.namespace)
