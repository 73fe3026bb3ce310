"""One endpoint's capacity in one environment: its inputs (with origins) and the arithmetic on them.

The capacity rules and `llmops explain` both start here, so a diagnostic and the explanation of it
always rest on the same numbers.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import field

from compiler.capacity import topology
from compiler.capacity.adapters import AdapterMemory, adapter_memory
from compiler.capacity.facts import (
    GPU_MEMORY_MISSING,
    Fact,
    ModelFacts,
    Origin,
    assumptions_of,
    cached_model_facts,
    gpu_memory_gib,
    kv_bytes,
    weight_bytes,
)
from compiler.capacity.serving import (
    GIB,
    RUNTIME_OVERHEAD_GIB,
    GpuServing,
    GpuServingInputs,
    GpuWeights,
    as_float,
    cpu_weights_bytes,
    gib,
    gpu_serving,
)
from compiler.diagnostics import Assumption
from compiler.records import record
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.spec.model import ModelSpec
from compiler.spec.serving import ServingEndpointSpec
from compiler.target.pod_resources import ENDPOINT_DEFAULT_RESOURCES, memory_bytes

DEPLOYMENT = ("spec", "deploymentSpec")
RESOURCES = (*DEPLOYMENT, "resources")
RUNTIME = (*DEPLOYMENT, "runtime")
# What a CPU replica holds besides weights and KV cache (the Python process, the model server,
# activations): the 2.3 GiB KAITO measured besides weights and KV cache per GPU
# (compiler/capacity/serving.py).
CPU_RUNTIME_OVERHEAD_GIB = RUNTIME_OVERHEAD_GIB
LARGEST_QUANTITY_BYTES = 2**63 - 1  # Kubernetes stores quantities as 64-bit integers


@record(eq=False, repr=False)
class EndpointCapacity:
    """An endpoint's capacity arithmetic: the facts it rests on and what they add up to."""

    env: ResolvedEnvironment
    endpoint: Manifest[ServingEndpointSpec]
    facts: ModelFacts
    gpus: Fact[int]
    weight_bytes: Fact[float]
    kv_bytes: Fact[int]
    # max_input_tokens + max_output_tokens (or the model's context)
    sequence_tokens: Fact[int] | None
    gpu_memory_gib: Fact[float] | None = None
    memory_bytes: Fact[float] | None = None  # of a CPU replica
    missing: list[str] = field(default_factory=list)
    # on GPUs, when the parameters and the GPUs' memory are known
    gpu_weights: GpuWeights | None = None
    gpu: GpuServing | None = None  # on GPUs, when nothing is missing
    adapters: AdapterMemory | None = None  # the LoRA adapters' slots, on GPUs
    # the prefill replicas of a prefill/decode split, as an endpoint of their own
    prefill: EndpointCapacity | None = None

    @property
    def model(self) -> Manifest[ModelSpec]:
        return self.facts.model

    @property
    def on_gpu(self) -> bool:
        return self.gpus.value > 0

    @property
    def tensor_parallel(self) -> int:
        """GPUs one model copy is split over: the replica's GPUs, shared out among its
        data-parallel ranks (an LLMInferenceService's `parallelism.data`)."""
        return tensor_parallel_size(self.endpoint, self.gpus.value)

    @property
    def nodes(self) -> int:
        """Nodes one replica spans (`parallelism.nodes`); each holds one data-parallel rank."""
        return topology.nodes(self.endpoint.spec.parallelism)

    @property
    def total_gpus(self) -> int:
        """GPUs at minReplicas: replicas x nodes x GPUs per node, prefill replicas included."""
        return topology.gpus_at(self.endpoint.spec)

    @property
    def min_replicas(self) -> int:
        replicas: int = self.endpoint.spec.min_replicas
        return max(1, replicas)

    def cpu_weights_bytes(self, weight_bytes: float | None = None) -> float | None:
        """The weights in a CPU replica's memory (at ``weight_bytes`` per parameter instead, when
        given)."""
        return _cpu_weights(
            self.facts, weight_bytes if weight_bytes is not None else self.weight_bytes.value
        )

    def cpu_kv_bytes(self, kv_bytes: int | None = None) -> float:
        """KV cache of one full sequence on CPU, when its shape is known (0 otherwise)."""
        return _cpu_kv(
            self.facts,
            self.sequence_tokens,
            kv_bytes if kv_bytes is not None else self.kv_bytes.value,
        )


def _cpu_weights(facts: ModelFacts, weight_bytes: float) -> float | None:
    parameters = facts.parameters
    return None if parameters is None else cpu_weights_bytes(parameters.value, weight_bytes)


def _cpu_kv(facts: ModelFacts, sequence: Fact[int] | None, kv_bytes: int) -> float:
    layers, kv_heads, head_dim = facts.layers, facts.kv_heads, facts.head_dim
    if layers is None or kv_heads is None or head_dim is None or sequence is None:
        return 0.0
    per_token = 2 * layers.value * kv_heads.value * head_dim.value * kv_bytes
    return as_float(per_token) * as_float(sequence.value)


def _sequence_tokens(
    endpoint: Manifest[ServingEndpointSpec], facts: ModelFacts
) -> Fact[int] | None:
    deployment = endpoint.spec.deployment_spec
    if deployment is not None and deployment.runtime is not None:
        runtime = deployment.runtime
        return Fact(
            runtime.max_input_tokens + runtime.max_output_tokens,
            Origin(
                "max_input_tokens + max_output_tokens", endpoint, (*RUNTIME, "max_input_tokens")
            ),
        )
    context = facts.context_length
    if context is not None:  # no --max_model_len: the runtime takes the model's whole context
        return Fact(
            context.value,
            Origin(
                "no runtime limits: the model's whole context",
                context.origin.manifest,
                context.origin.path,
                context.origin.reference,
            ),
        )
    return None


def tensor_parallel_size(endpoint: Manifest[ServingEndpointSpec], gpus: int) -> int:
    """Each data-parallel rank holds the whole model on its share of a node's GPUs, so the per-GPU
    arithmetic is that of one rank (sequences are counted for one rank: conservative). A replica
    over several nodes runs one rank per node: `gpus` is per node."""
    parallelism = endpoint.spec.parallelism
    data = parallelism.data if parallelism is not None else 1
    return max(1, gpus // data) if gpus > 0 else 0


def _gpus(endpoint: Manifest[ServingEndpointSpec]) -> Fact[int]:
    deployment = endpoint.spec.deployment_spec
    count = deployment.resources.gpus if deployment is not None else 0
    written = deployment is not None and "gpus" in deployment.resources.model_fields_set
    return Fact(
        count,
        Origin("", endpoint, (*RESOURCES, "gpus"))
        if written
        else Origin("no resources.gpus: CPU-only"),
    )


def _cpu_memory(
    endpoint: Manifest[ServingEndpointSpec],
    weights: float | None,
    cache: float,
    assumptions: tuple[Assumption, ...],
) -> Fact[float]:
    """A CPU replica's memory: as written, else what llmops renders: enough for the model (its
    weights and one full sequence of KV cache, plus the runtime's overhead, rounded up to whole
    GiB), or the fixed default when the model's size is not known."""
    deployment = endpoint.spec.deployment_spec
    written = deployment.resources.memory if deployment is not None else None
    if written is not None:
        return Fact(
            memory_bytes(written), Origin(f"memory {written}", endpoint, (*RESOURCES, "memory"))
        )
    derived = derived_cpu_memory(weights, cache)
    if derived is None:
        default = ENDPOINT_DEFAULT_RESOURCES[False]["memory"]
        return Fact(
            memory_bytes(default),
            Origin(f"no resources.memory and no model size: llmops renders {default}"),
        )
    assert weights is not None
    parts = f"{gib(weights)} weights + " + (f"{gib(cache)} KV cache + " if cache else "")
    return Fact(
        memory_bytes(derived),
        Origin(
            f"no resources.memory: llmops renders {derived}, {parts}{CPU_RUNTIME_OVERHEAD_GIB:g} "
            "GiB runtime overhead rounded up",
            assumption=assumptions[0] if assumptions else None,
        ),
    )


def derived_cpu_memory(weights: float | None, cache: float) -> str | None:
    """The memory llmops renders for a CPU replica whose manifest names none, or None when the
    model's size is unknown (or beyond what a Kubernetes quantity holds)."""
    if weights is None:
        return None
    total = weights + cache + CPU_RUNTIME_OVERHEAD_GIB * GIB
    if not math.isfinite(total) or total > LARGEST_QUANTITY_BYTES:
        return None
    return f"{math.ceil(total / GIB)}Gi"


def rendered_cpu_memory(
    env: ResolvedEnvironment, endpoint: Manifest[ServingEndpointSpec]
) -> str | None:
    """The memory the renderer writes for a CPU-only endpoint that names none (None: use the fixed
    default)."""
    capacity = endpoint_capacity(env, endpoint)
    if capacity is None or capacity.on_gpu:
        return None
    deployment = endpoint.spec.deployment_spec
    if deployment is not None and deployment.resources.memory is not None:
        return None
    return derived_cpu_memory(capacity.cpu_weights_bytes(), capacity.cpu_kv_bytes())


def endpoint_capacity(
    env: ResolvedEnvironment, endpoint: Manifest[ServingEndpointSpec]
) -> EndpointCapacity | None:
    """The endpoint's capacity, or None when its model does not resolve (other rules report
    that)."""
    return env.remember(
        ("endpoint-capacity", env.name, endpoint), lambda: _with_prefill(env, endpoint)
    )


def _with_prefill(
    env: ResolvedEnvironment, endpoint: Manifest[ServingEndpointSpec]
) -> EndpointCapacity | None:
    capacity = _compute(env, endpoint)
    prefill = topology.prefill_endpoint(env, endpoint)
    if capacity is None or prefill is None:
        return capacity
    return dataclasses.replace(capacity, prefill=endpoint_capacity(env, prefill))


def _compute(
    env: ResolvedEnvironment, endpoint: Manifest[ServingEndpointSpec]
) -> EndpointCapacity | None:
    model = env.resolve_model(endpoint.spec.model_id).manifest
    if model is None:
        return None
    facts = cached_model_facts(env, model)
    gpus = _gpus(endpoint)
    on_gpu = gpus.value > 0
    weights, cache = weight_bytes(model, on_gpu), kv_bytes(model, on_gpu)
    sequence = _sequence_tokens(endpoint, facts)
    if not on_gpu:
        cpu_cache = _cpu_kv(facts, sequence, cache.value)
        memory = _cpu_memory(
            endpoint,
            _cpu_weights(facts, weights.value),
            cpu_cache,
            assumptions_of(facts.layers) if cpu_cache else (),
        )
        return EndpointCapacity(
            env,
            endpoint,
            facts,
            gpus,
            weights,
            cache,
            sequence,
            memory_bytes=memory,
            missing=[] if facts.parameters else ["parameters"],
        )
    deployment = endpoint.spec.deployment_spec
    memory_gib = gpu_memory_gib(
        env,
        endpoint,
        (*RESOURCES, "gpu_memory_gb"),
        deployment.resources.gpu_memory_gb if deployment is not None else None,
    )
    missing = facts.missing_for_gpu() + ([] if memory_gib is not None else [GPU_MEMORY_MISSING])
    if facts.parameters is None or memory_gib is None:
        return EndpointCapacity(
            env,
            endpoint,
            facts,
            gpus,
            weights,
            cache,
            sequence,
            gpu_memory_gib=memory_gib,
            missing=missing,
        )
    lora = adapter_memory(env, endpoint, facts, weights.value)
    lora_bytes = lora.total_bytes if lora is not None else 0.0
    tensor = tensor_parallel_size(endpoint, gpus.value)
    loaded = GpuWeights(facts.parameters.value, weights.value, tensor, memory_gib.value, lora_bytes)
    if missing or not (facts.layers and facts.kv_heads and facts.head_dim):
        return EndpointCapacity(
            env,
            endpoint,
            facts,
            gpus,
            weights,
            cache,
            sequence,
            gpu_memory_gib=memory_gib,
            missing=missing,
            gpu_weights=loaded,
        )
    serving = gpu_serving(
        GpuServingInputs(
            parameters=facts.parameters.value,
            weight_bytes=weights.value,
            layers=facts.layers.value,
            kv_heads=facts.kv_heads.value,
            head_dim=facts.head_dim.value,
            kv_bytes=cache.value,
            gpus=tensor,
            gpu_memory_gib=memory_gib.value,
            adapter_bytes=lora_bytes,
        )
    )
    return EndpointCapacity(
        env,
        endpoint,
        facts,
        gpus,
        weights,
        cache,
        sequence,
        gpu_memory_gib=memory_gib,
        gpu_weights=loaded,
        gpu=serving,
        adapters=lora,
    )
