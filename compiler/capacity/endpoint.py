"""One endpoint's capacity in one environment: its inputs (with origins) and the arithmetic on them.

The capacity rules and `llmops explain` both start here, so a diagnostic and the explanation of it
always rest on the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compiler.capacity.facts import (
    GPU_MEMORY_MISSING,
    Fact,
    ModelFacts,
    Origin,
    cached_model_facts,
    gpu_memory_gib,
    kv_bytes,
    weight_bytes,
)
from compiler.capacity.serving import GpuServing, GpuServingInputs, cpu_weights_bytes, gpu_serving
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.resources import ENDPOINT_DEFAULT_RESOURCES, memory_bytes

DEPLOYMENT = ("spec", "deploymentSpec")
RESOURCES = (*DEPLOYMENT, "resources")
RUNTIME = (*DEPLOYMENT, "runtime")


@dataclass(frozen=True)
class EndpointCapacity:
    env: ResolvedEnvironment
    endpoint: Manifest
    facts: ModelFacts
    gpus: Fact[int]
    weight_bytes: Fact[float]
    kv_bytes: Fact[int]
    sequence_tokens: Fact[int] | None  # max_input_tokens + max_output_tokens (or the model's context)
    gpu_memory_gib: Fact[float] | None = None
    memory_bytes: Fact[float] | None = None  # of a CPU replica
    missing: list[str] = field(default_factory=list)
    gpu: GpuServing | None = None  # computed when on GPUs and nothing is missing

    @property
    def model(self) -> Manifest:
        return self.facts.model

    @property
    def on_gpu(self) -> bool:
        return self.gpus.value > 0

    @property
    def min_replicas(self) -> int:
        replicas: int = self.endpoint.spec.min_replicas
        return max(1, replicas)

    def cpu_weights_bytes(self) -> float | None:
        parameters = self.facts.parameters
        return None if parameters is None else cpu_weights_bytes(parameters.value, self.weight_bytes.value)

    def cpu_kv_bytes(self) -> float:
        """KV cache of one full sequence on CPU, when its shape is known (0 otherwise)."""
        layers, kv_heads, head_dim = self.facts.layers, self.facts.kv_heads, self.facts.head_dim
        if layers is None or kv_heads is None or head_dim is None or self.sequence_tokens is None:
            return 0.0
        per_token = 2 * layers.value * kv_heads.value * head_dim.value * self.kv_bytes.value
        return float(per_token * self.sequence_tokens.value)


def _sequence_tokens(endpoint: Manifest, facts: ModelFacts) -> Fact[int] | None:
    deployment = endpoint.spec.deployment_spec
    if deployment is not None and deployment.runtime is not None:
        runtime = deployment.runtime
        return Fact(runtime.max_input_tokens + runtime.max_output_tokens,
                    Origin("max_input_tokens + max_output_tokens", endpoint, (*RUNTIME, "max_input_tokens")))
    context = facts.context_length
    if context is not None:  # no --max_model_len: the runtime takes the model's whole context
        return Fact(context.value, Origin("no runtime limits: the model's whole context", context.origin.manifest,
                                          context.origin.path, context.origin.reference))
    return None


def _gpus(endpoint: Manifest) -> Fact[int]:
    deployment = endpoint.spec.deployment_spec
    count = deployment.resources.gpus if deployment is not None else 0
    written = deployment is not None and "gpus" in deployment.resources.model_fields_set
    return Fact(count, Origin("", endpoint, (*RESOURCES, "gpus")) if written
                else Origin("no resources.gpus: CPU-only"))


def _cpu_memory(endpoint: Manifest) -> Fact[float]:
    deployment = endpoint.spec.deployment_spec
    written = deployment.resources.memory if deployment is not None else None
    if written is not None:
        return Fact(memory_bytes(written), Origin(f"memory {written}", endpoint, (*RESOURCES, "memory")))
    default = ENDPOINT_DEFAULT_RESOURCES[False]["memory"]
    return Fact(memory_bytes(default), Origin(f"no resources.memory: llmops renders {default}"))


def endpoint_capacity(env: ResolvedEnvironment, endpoint: Manifest) -> EndpointCapacity | None:
    """The endpoint's capacity, or None when its model does not resolve (other rules report that)."""
    return env.remember(("endpoint-capacity", env.name, endpoint), lambda: _compute(env, endpoint))


def _compute(env: ResolvedEnvironment, endpoint: Manifest) -> EndpointCapacity | None:
    model = env.resolve_model(endpoint.spec.model_id).manifest
    if model is None:
        return None
    facts = cached_model_facts(env, model)
    gpus = _gpus(endpoint)
    on_gpu = gpus.value > 0
    weights, cache = weight_bytes(model, on_gpu), kv_bytes(model, on_gpu)
    sequence = _sequence_tokens(endpoint, facts)
    if not on_gpu:
        return EndpointCapacity(env, endpoint, facts, gpus, weights, cache, sequence,
                                memory_bytes=_cpu_memory(endpoint),
                                missing=[] if facts.parameters else ["parameters"])
    deployment = endpoint.spec.deployment_spec
    memory = gpu_memory_gib(env, endpoint, (*RESOURCES, "gpu_memory_gb"),
                            deployment.resources.gpu_memory_gb if deployment is not None else None)
    missing = facts.missing_for_gpu() + ([] if memory is not None else [GPU_MEMORY_MISSING])
    if missing or memory is None or not (facts.parameters and facts.layers and facts.kv_heads and facts.head_dim):
        return EndpointCapacity(env, endpoint, facts, gpus, weights, cache, sequence, gpu_memory_gib=memory,
                                missing=missing)
    serving = gpu_serving(GpuServingInputs(
        parameters=facts.parameters.value, weight_bytes=weights.value, layers=facts.layers.value,
        kv_heads=facts.kv_heads.value, head_dim=facts.head_dim.value, kv_bytes=cache.value, gpus=gpus.value,
        gpu_memory_gib=memory.value))
    return EndpointCapacity(env, endpoint, facts, gpus, weights, cache, sequence, gpu_memory_gib=memory,
                            gpu=serving)
