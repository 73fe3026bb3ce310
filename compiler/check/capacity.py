"""Serving capacity (code family C): will the model fit on the endpoint's GPUs, and how much will
queue.

The arithmetic and its constants live in `compiler/capacity/` (shared with `llmops explain`); these
rules turn its results into findings at the field to change, with the numbers in the message.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from compiler.capacity.endpoint import (
    CPU_RUNTIME_OVERHEAD_GIB,
    RESOURCES,
    RUNTIME,
    EndpointCapacity,
    derived_cpu_memory,
    endpoint_capacity,
)
from compiler.capacity.facts import (
    LARGE_MODEL_PARAMETERS,
    Fact,
    assumptions_of,
    short_count,
)
from compiler.capacity.serving import (
    GPU_MEMORY_UTILIZATION,
    RUNTIME_OVERHEAD_GIB,
    WEIGHT_OVERHEAD,
    GpuServing,
    GpuWeights,
    gib,
    gpus_for_weights,
    gpus_needed,
    grouped,
    kib,
    plain,
    tensor_parallel_ok,
    valid_gpu_counts,
)
from compiler.capacity.topology import PREFILL
from compiler.capacity.training import training_capacity
from compiler.check.rule import Finding, RelatedPlace, rule
from compiler.diagnostics import Assumption, Category, Severity
from compiler.positions import Path
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.spec.model import ModelSpec

E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


count = short_count
# The fewest bytes a parameter loads in without quantization (16-bit): a verdict that holds even
# then does not rest on the dtype llmops assumed for a Model that names none.
UNQUANTIZED_FLOOR_BYTES = 2
# a hint lists at most this many valid GPU counts, the nearest to the one written
HINTED_GPU_COUNTS = 8


def related(fact: Fact[Any] | None, label: str) -> tuple[RelatedPlace, ...]:
    """Where a fact was written, as a note on the diagnostic (nothing for a runtime default)."""
    origin = fact.origin if fact is not None else None
    if origin is None or origin.manifest is None:
        return ()
    note = label if origin.note in ("", label) else f"{label} ({origin.note})"
    return (RelatedPlace(origin.manifest, origin.path, note),)


def _capacities(env: ResolvedEnvironment) -> Iterator[EndpointCapacity]:
    for endpoint in env.of_kind("ServingEndpoint"):
        capacity = endpoint_capacity(env, endpoint)
        if capacity is not None:
            yield capacity


def _gpu_limit(env: ResolvedEnvironment, gpus: int) -> int:
    return max(env.settings.gpu.max_per_endpoint, gpus)


def _either(options: list[str]) -> str:
    """`a`, `a or b`, `a, b or c`."""
    return options[0] if len(options) == 1 else f"{', '.join(options[:-1])} or {options[-1]}"


def _on(capacity: EndpointCapacity) -> str:
    memory = capacity.gpu_memory_gib.value if capacity.gpu_memory_gib else 0.0
    gpus = capacity.gpus.value
    return f"{gpus} x {memory:g} GiB GPU{'s' if gpus > 1 else ''}"


@rule(
    "C001",
    "capacity-facts-missing",
    INFO,
    "A GPU workload's capacity cannot be checked: facts are missing.",
    category=Category.CAPACITY,
)
def capacity_facts_missing(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Whether llmops knows enough to check a GPU workload's capacity: the model's parameter count
        and the memory of the environment's GPUs for the weights (C002); also the layers, KV heads
        and head size for the KV cache (C003, C004). They come from the Model (its own fields, or
        its `preset`) and from environment.yaml (`gpu.memoryGiB` or `gpu.product`). This note says
        what is missing and, when several presets match, which ones.
    Why it matters:
        Nothing is guessed: without these facts llmops cannot tell whether the model fits, and a
        silent pass would look like a verdict. An info, because the estate itself may be right; a
        model that names its preset gets every check. Not reported where the environment allows no
        GPUs (P007 reports the request itself).
    Wrong: a parameter count alone, for a family no preset matches
        # file: environments/stg/catalog/support-model.yaml
          metadata:
            model_family: falcon
            parameters: 7B
    Right: the preset supplies the shape of Llama 3 8B
        # file: environments/stg/catalog/support-model.yaml
          metadata:
            model_family: llama
            parameters: 8B
            preset: llama-3-8b
    """
    if not env.settings.gpu.allowed:
        return
    for capacity in _capacities(env):
        if not capacity.on_gpu or not capacity.missing:
            continue
        yield from _missing_findings(
            env,
            capacity.endpoint,
            capacity.model,
            capacity.missing,
            capacity.facts.missing_for_gpu(),
            RESOURCES,
            capacity.facts.preset_candidates,
        )
    for job in env.of_kind("TrainingJob"):
        training = training_capacity(env, job)
        if training is not None and training.gpus > 0 and training.missing:
            yield from _missing_findings(
                env,
                job,
                training.model,
                training.missing,
                [m for m in training.missing if m == "parameters"],
                ("spec", "trainJobSpec", "resources"),
                (),
            )


def _missing_findings(
    env: ResolvedEnvironment,
    workload: Manifest,
    model: Manifest[ModelSpec],
    missing: list[str],
    model_missing: list[str],
    resources: Path,
    candidates: tuple[str, ...],
) -> Iterator[Finding]:
    where = f"{workload.subject} on GPUs in `{env.name}`"
    if model_missing:
        unchecked = "capacity" if "parameters" in model_missing else "KV cache"
        if candidates:
            meta = model.spec.metadata
            hint = (
                f"model_family {meta.model_family} and {meta.parameters} parameters match the "
                f"presets {_either(list(candidates))}: name the one it is (e.g. `preset: "
                f"{candidates[0]}`) or write the missing numbers from its config.json"
            )
        else:
            hint = (
                "name the public model it is or derives from (e.g. `preset: llama-3.1-8b`; the "
                "presets are listed under spec.metadata.preset in schemas/manifest-reference.md) "
                "or write the missing numbers from its config.json"
            )
        yield Finding(
            model,
            ("spec", "metadata"),
            f"{model.subject} has no {', '.join(model_missing)}, so the "
            f"{unchecked} of {where} cannot be checked",
            hint,
            key=True,
            related=(RelatedPlace(workload, ("spec", "modelId"), "served or trained here"),),
        )
    if len(missing) > len(model_missing):
        settings = f"environments/{env.name}/environment.yaml"
        yield Finding(
            workload,
            resources,
            f"the memory of environment `{env.name}`'s GPUs is not known, so the "
            f"capacity of {where} cannot be checked",
            f"set gpu.memoryGiB or gpu.product in {settings}, or gpu_memory_gb here",
            key=True,
        )


def _weights_text(weights: GpuWeights) -> str:
    split = f" / {weights.gpus} GPUs" if weights.gpus > 1 else ""
    return (
        f"{count(weights.parameters)} parameters x {weights.weight_bytes:g} bytes x "
        f"{WEIGHT_OVERHEAD}{split}"
    )


def _usable_text(weights: GpuWeights) -> str:
    return (
        f"{weights.gpu_memory_gib:g} GiB x {GPU_MEMORY_UTILIZATION} - {RUNTIME_OVERHEAD_GIB:g} GiB "
        f"runtime overhead = {gib(weights.usable_bytes_per_gpu)}"
    )


def _heads(capacity: EndpointCapacity) -> tuple[int | None, int | None]:
    facts = capacity.facts
    return (
        facts.attention_heads.value if facts.attention_heads else None,
        facts.kv_heads.value if facts.kv_heads else None,
    )


def _shape_assumptions(capacity: EndpointCapacity) -> tuple[Assumption, ...]:
    """What a KV-cache verdict rests on besides the manifests: an inferred preset's shape or
    context."""
    facts = capacity.facts
    return assumptions_of(
        facts.parameters, facts.layers, facts.kv_heads, facts.head_dim, capacity.sequence_tokens
    )


def _more_gpus(capacity: EndpointCapacity, serving: GpuServing, tokens: int) -> str | None:
    limit = capacity.env.settings.gpu.max_per_endpoint
    attention = capacity.facts.attention_heads.value if capacity.facts.attention_heads else None
    needed = (
        gpus_needed(serving.inputs, tokens, attention, limit)
        if capacity.env.settings.gpu.allowed
        else None
    )
    if needed is None or needed <= serving.inputs.gpus:
        return None
    return f"use {needed} GPUs per replica"


def _more_gpus_for_weights(capacity: EndpointCapacity, weights: GpuWeights) -> str | None:
    if not capacity.env.settings.gpu.allowed:
        return None
    attention, kv = _heads(capacity)
    needed = gpus_for_weights(weights, attention, kv, capacity.env.settings.gpu.max_per_endpoint)
    return (
        f"use {needed} GPUs per replica" if needed is not None and needed > weights.gpus else None
    )


@rule(
    "C002",
    "weights-exceed-gpu-memory",
    E,
    "The model's weights do not fit on the endpoint's GPUs.",
    category=Category.CAPACITY,
)
def weights_exceed_gpu_memory(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Whether the model's weights fit on one replica's GPUs. Weights = parameters x bytes per
        parameter (from `dtype` and `quantization`) x 1.02, split over the replica's GPUs; each GPU
        offers its memory x 0.9 (vLLM's default `gpu_memory_utilization`) less 2.3 GiB of runtime
        overhead (KAITO's measurements on vLLM). Checked whenever the parameter count and the GPUs'
        memory are known. On the LLMInferenceService backend a replica over several nodes holds the
        model once per node (one data-parallel rank each, over the node's GPUs), and each prefill
        replica holds it on its own GPUs (`prefill.gpus`): both are checked.
    Why it matters:
        vLLM loads the whole model before anything else: weights that do not fit crash-loop the pod
        with an out-of-memory error after the image pull and the download of every shard, typically
        minutes after the sync that looked fine. The hint names the GPU count that fits, or a
        quantization.
    Wrong: Llama 3.1 70B in bf16 on one 80 GiB GPU
        # file: environments/prod/serving/big-chat.yaml
            resources:
              gpus: 1
        # file: environments/prod/catalog/big-model.yaml
            preset: llama-3.1-70b
            dtype: bf16
    Right: four GPUs share the weights (33.5 GiB each)
        # file: environments/prod/serving/big-chat.yaml
            resources:
              gpus: 4
    """
    for capacity in _capacities(env):
        weights = capacity.gpu_weights
        if weights is None or weights.weights_fit:
            continue
        options = [option for option in (_more_gpus_for_weights(capacity, weights),) if option]
        options += ["GPUs with more memory", "a quantized model (quantization: awq)"]
        yield Finding(
            capacity.endpoint,
            (*RESOURCES, "gpus"),
            f"the weights need {gib(weights.weights_bytes_per_gpu)} per GPU "
            f"({_weights_text(weights)}) but each GPU has {_usable_text(weights)} for them",
            _either(options),
            related=(
                *related(capacity.facts.parameters, "parameters"),
                *related(capacity.gpu_memory_gib, "GPU memory"),
            ),
            assumptions=assumptions_of(capacity.facts.parameters),
        )
    for capacity in _capacities(env):
        yield from _prefill_weights(capacity)


def _prefill_weights(capacity: EndpointCapacity) -> Iterator[Finding]:
    """Each prefill replica holds the whole model on its own GPUs (C002 on the endpoint already
    says so when the prefill's GPUs are split as the endpoint's are)."""
    prefill = capacity.prefill
    weights = prefill.gpu_weights if prefill is not None else None
    if prefill is None or weights is None or weights.weights_fit:
        return
    decode = capacity.gpu_weights
    if decode is not None and not decode.weights_fit and decode.gpus == weights.gpus:
        return
    spec = capacity.endpoint.spec.prefill
    written = spec is not None and spec.gpus is not None
    options = [option for option in (_more_gpus_for_weights(prefill, weights),) if option]
    options = [option.replace("per replica", "per prefill replica") for option in options]
    options += ["GPUs with more memory", "a quantized model (quantization: awq)"]
    yield Finding(
        capacity.endpoint,
        (*PREFILL, "gpus") if written else PREFILL,
        f"each prefill replica holds the whole model: the weights need "
        f"{gib(weights.weights_bytes_per_gpu)} per GPU ({_weights_text(weights)}) but each GPU "
        f"has {_usable_text(weights)} for them",
        _either(options),
        related=(
            *related(capacity.facts.parameters, "parameters"),
            *related(capacity.gpu_memory_gib, "GPU memory"),
        ),
        assumptions=assumptions_of(capacity.facts.parameters),
    )


@rule(
    "C003",
    "sequence-exceeds-kv-cache",
    E,
    "One full-length sequence does not fit in the KV cache.",
    category=Category.CAPACITY,
)
def sequence_exceeds_kv_cache(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Whether one full-length sequence fits in the KV cache a replica has after its weights. The
        length is `--max_model_len` as llmops renders it: `max_input_tokens + max_output_tokens`, or
        the model's whole context when no runtime limits are set. KV cache per token = 2 x layers x
        KV heads x head size x bytes per element. Prefill replicas (LLMInferenceService `prefill`)
        compute each prompt's KV cache on their own GPUs: one sequence must fit there too.
    Why it matters:
        vLLM reserves its KV cache at start-up and refuses to start when one sequence of
        `--max_model_len` tokens does not fit: the pod never becomes ready. Long-context models hit
        this by default (Llama 3.1 8B's 131,072 tokens need 16 GiB of cache; a 24 GiB GPU has room
        for 33,126 tokens after the weights).
    Wrong: the whole 131,072-token context on one 24 GiB GPU
        # file: environments/stg/serving/long-chat.yaml
            runtime:
              max_concurrent_requests: 1
              max_input_tokens: 126976
              max_output_tokens: 4096
    Right: 12,288 + 4,096 tokens per sequence; two fit
        # file: environments/stg/serving/long-chat.yaml
            runtime:
              max_concurrent_requests: 2
              max_input_tokens: 12288
              max_output_tokens: 4096
    """
    for capacity in _capacities(env):
        serving, sequence = capacity.gpu, capacity.sequence_tokens
        if (
            serving is None
            or not serving.weights_fit
            or sequence is None
            or serving.kv_tokens >= sequence.value
        ):
            continue
        deployment = capacity.endpoint.spec.deployment_spec
        runtime = deployment.runtime if deployment is not None else None
        options = []
        if runtime is not None:
            room = serving.kv_tokens - runtime.max_output_tokens
            options.append(
                f"set max_input_tokens <= {plain(room)}"
                if room >= 1
                else f"lower max_input_tokens + max_output_tokens to <= {serving.kv_tokens}"
            )
        else:
            options.append(
                f"set deploymentSpec.runtime limits with max_input_tokens + max_output_tokens <= "
                f"{serving.kv_tokens}"
            )
        more = _more_gpus(capacity, serving, sequence.value)
        if more:
            options.append(more)
        path = (*RUNTIME, "max_input_tokens") if runtime is not None else (*RESOURCES, "gpus")
        yield Finding(
            capacity.endpoint,
            path,
            f"one sequence of {grouped(sequence.value)} tokens needs "
            f"{gib(sequence.value * serving.kv_bytes_per_token)} of KV cache "
            f"({kib(serving.kv_bytes_per_token)} per token) but a replica on {_on(capacity)} has "
            f"room for {grouped(serving.kv_tokens)} tokens after the weights; vLLM will not start",
            _either(options),
            related=(
                *related(capacity.gpu_memory_gib, "GPU memory"),
                *related(capacity.facts.layers, "layers"),
            ),
            assumptions=_shape_assumptions(capacity),
        )
    for capacity in _capacities(env):
        yield from _prefill_sequence(capacity)


def _prefill_sequence(capacity: EndpointCapacity) -> Iterator[Finding]:
    """A prefill replica computes each prompt's KV cache on its own GPUs: one full sequence must
    fit there too (C003 on the endpoint already says so when its GPUs are split alike)."""
    prefill = capacity.prefill
    serving = prefill.gpu if prefill is not None else None
    sequence = capacity.sequence_tokens
    if (
        prefill is None
        or serving is None
        or not serving.weights_fit
        or sequence is None
        or serving.kv_tokens >= sequence.value
    ):
        return
    decode = capacity.gpu
    if (
        decode is not None
        and decode.inputs.gpus == serving.inputs.gpus
        and decode.kv_tokens < sequence.value
    ):
        return
    spec = capacity.endpoint.spec.prefill
    written = spec is not None and spec.gpus is not None
    yield Finding(
        capacity.endpoint,
        (*PREFILL, "gpus") if written else PREFILL,
        f"one sequence of {grouped(sequence.value)} tokens needs "
        f"{gib(sequence.value * serving.kv_bytes_per_token)} of KV cache but a prefill replica on "
        f"{_on(prefill)} has room for {grouped(serving.kv_tokens)} tokens after the weights; "
        "vLLM will not start",
        _either(
            [
                f"lower max_input_tokens + max_output_tokens to <= {serving.kv_tokens}",
                "give prefill replicas more GPUs (prefill.gpus)",
            ]
        ),
        related=(*related(capacity.gpu_memory_gib, "GPU memory"),),
        assumptions=_shape_assumptions(capacity),
    )


@rule(
    "C004",
    "concurrency-exceeds-kv-cache",
    W,
    "More concurrent requests than full-length sequences fit.",
    category=Category.CAPACITY,
)
def concurrency_exceeds_kv_cache(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Whether the requests the proxy lets through at once (`max_concurrent_requests`) fit in the
        KV cache of the endpoint's replicas at full length, counting replicas at `minReplicas`.
    Why it matters:
        vLLM schedules only as many sequences as its KV cache holds and queues the rest, so at full
        length the extra requests wait, and latency grows with load while the endpoint looks
        healthy. A warning: short requests may all fit, and queueing can be a choice.
    Wrong: 64 requests in flight; one replica holds 6 full-length sequences
        # file: environments/stg/serving/support-chat.yaml
          minReplicas: 1
          maxReplicas: 1
        ...
              max_concurrent_requests: 64
              max_input_tokens: 4096
              max_output_tokens: 1024
    Right: two replicas hold 12, and the proxy lets 12 through
        # file: environments/stg/serving/support-chat.yaml
          minReplicas: 2
          maxReplicas: 2
        ...
              max_concurrent_requests: 12
    """
    for capacity in _capacities(env):
        serving, sequence = capacity.gpu, capacity.sequence_tokens
        deployment = capacity.endpoint.spec.deployment_spec
        if serving is None or sequence is None or deployment is None or deployment.runtime is None:
            continue
        per_replica = serving.sequences(sequence.value)
        replicas = capacity.min_replicas
        wanted = deployment.runtime.max_concurrent_requests
        if per_replica == 0 or wanted <= per_replica * replicas:
            continue
        total = per_replica * replicas
        yield Finding(
            capacity.endpoint,
            (*RUNTIME, "max_concurrent_requests"),
            f"max_concurrent_requests is {wanted} but {replicas} "
            f"replica{'s' if replicas > 1 else ''} (minReplicas) "
            f"{'have' if replicas > 1 else 'has'} room for {total} "
            f"sequence{'s' if total > 1 else ''} of {grouped(sequence.value)} tokens at once "
            f"({per_replica} per replica: {grouped(serving.kv_tokens)} tokens of KV cache on "
            f"{_on(capacity)}); the rest queue",
            f"set max_concurrent_requests <= {total}, or lower the token limits, or add GPUs or "
            "replicas",
            related=(RelatedPlace(capacity.endpoint, ("spec", "minReplicas"), "minReplicas"),),
            assumptions=_shape_assumptions(capacity),
        )


@rule(
    "C005",
    "gpus-do-not-divide-heads",
    E,
    "The GPU count does not divide the model's attention heads.",
    category=Category.CAPACITY,
)
def gpus_do_not_divide_heads(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        A replica's GPU count divides the model's attention heads evenly, and its KV heads too (or,
        with fewer KV heads than GPUs, the GPU count is a multiple of them). The hint lists the
        valid counts within the environment's limit.
    Why it matters:
        KServe's Hugging Face runtime makes the replica's GPU count vLLM's tensor-parallel size, and
        vLLM splits the heads evenly over the GPUs; any other count fails at start-up, after the
        GPUs were allocated.
    Wrong: three GPUs for 32 attention heads and 8 KV heads
        # file: environments/stg/serving/support-chat.yaml
            resources:
              gpus: 3
    Right: two GPUs, 16 attention heads and 4 KV heads each
        # file: environments/stg/serving/support-chat.yaml
            resources:
              gpus: 2
    """
    for capacity in _capacities(env):
        gpus = capacity.tensor_parallel
        facts = capacity.facts
        attention, kv = _heads(capacity)
        if (
            gpus < 2
            or (attention is None and kv is None)
            or tensor_parallel_ok(gpus, attention, kv)
        ):
            continue
        heads = " and ".join(
            part
            for part in (
                f"{attention} attention heads" if attention else "",
                f"{kv} KV heads" if kv else "",
            )
            if part
        )
        valid = sorted(
            sorted(
                valid_gpu_counts(attention, kv, _gpu_limit(env, gpus)), key=lambda n: abs(n - gpus)
            )[:HINTED_GPU_COUNTS]
        )
        yield Finding(
            capacity.endpoint,
            (*RESOURCES, "gpus"),
            f"{gpus} GPUs per replica cannot split {capacity.model.subject}'s {heads} evenly "
            "(vLLM's tensor-parallel size must divide them)",
            f"use {_either([str(n) for n in valid])} GPUs per replica",
            related=(*related(facts.attention_heads, "attention heads"),),
            assumptions=assumptions_of(facts.attention_heads, facts.kv_heads),
        )


@rule(
    "C006",
    "cpu-memory-below-model",
    E,
    "A CPU-only endpoint has less memory than its model needs.",
    category=Category.CAPACITY,
)
def cpu_memory_below_model(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Whether a CPU-only endpoint's `resources.memory` holds its model: parameters x bytes per
        parameter x 1.02 (float32 unless the Model names a `dtype`), plus the KV cache of one
        full-length sequence when the model's shape is known. Without `resources.memory` llmops
        renders that need plus 2.3 GiB, so only a written memory can be too small.
    Why it matters:
        On CPU the whole model sits in the pod's memory; below that the kubelet OOM-kills the pod
        while it loads, again and again. A warning when only the float32 llmops assumed makes it too
        small (the model names no dtype and would fit in 16 bits).
    Wrong: 7B parameters in bf16 in 8Gi
        # file: environments/dev/serving/support-chat.yaml
            resources:
              gpus: 0
              memory: 8Gi
    Right: 16Gi holds the model
        # file: environments/dev/serving/support-chat.yaml
            resources:
              gpus: 0
              memory: 16Gi
    """
    for capacity in _capacities(env):
        weights = capacity.cpu_weights_bytes()
        memory = capacity.memory_bytes
        if capacity.on_gpu or weights is None or memory is None:
            continue
        cache = capacity.cpu_kv_bytes()
        needed = weights + cache
        if needed <= memory.value:
            continue
        parameters = capacity.facts.parameters
        assert parameters is not None
        parts = (
            f"{count(parameters.value)} parameters x {capacity.weight_bytes.value:g} bytes x "
            f"{WEIGHT_OVERHEAD}"
        )
        if cache and capacity.sequence_tokens:
            parts += (
                f" + {gib(cache)} KV cache for {grouped(capacity.sequence_tokens.value)} tokens"
            )
            if capacity.facts.preset_assumption is not None and capacity.facts.preset is not None:
                parts += f" in the shape of preset {capacity.facts.preset.name}, assumed"
        derived = derived_cpu_memory(weights, cache)
        raise_it = (
            f"set resources.memory: {derived} (what llmops renders without it: this need plus "
            f"{CPU_RUNTIME_OVERHEAD_GIB:g} GiB runtime overhead)"
            if derived
            else "raise resources.memory"
        )
        yield Finding(
            capacity.endpoint,
            (*RESOURCES, "memory"),
            f"the model needs at least {gib(needed)} ({parts}) but a replica has "
            f"{gib(memory.value)} ({memory.origin.note})",
            f"{raise_it}, or "
            + (
                "serve the model in a smaller dtype (dtype: bf16)"
                if capacity.weight_bytes.value > UNQUANTIZED_FLOOR_BYTES
                else "serve a smaller model"
            ),
            related=(
                *related(capacity.facts.parameters, "parameters"),
                *related(capacity.weight_bytes, "bytes per parameter"),
            ),
            assumptions=_cpu_assumptions(capacity, memory.value),
        )


def _cpu_assumptions(capacity: EndpointCapacity, memory: float) -> tuple[Assumption, ...]:
    """What a CPU memory verdict rests on: none when the replica is too small even for what is
    certain (the weights in 16 bits when no dtype is named; the KV cache only when the Model's own
    fields give its shape), else the assumed dtype and the assumed shape."""
    facts = capacity.facts
    dtype_assumed = capacity.weight_bytes.origin.manifest is None
    shape = assumptions_of(facts.layers, facts.kv_heads, facts.head_dim, capacity.sequence_tokens)
    floor_bytes = UNQUANTIZED_FLOOR_BYTES if dtype_assumed else None
    certain = (capacity.cpu_weights_bytes(floor_bytes) or 0.0) + (
        0.0 if shape else capacity.cpu_kv_bytes(floor_bytes)
    )
    if certain > memory:
        return ()
    dtype = (
        (
            Assumption(
                "float32 weights: the Model names no dtype, and "
                f"{capacity.weight_bytes.origin.note}",
                "write spec.metadata.dtype (bf16, fp16 or fp32)",
            ),
        )
        if dtype_assumed
        else ()
    )
    return (*dtype, *(shape if capacity.cpu_kv_bytes() else ()))


@rule(
    "C007",
    "large-model-on-cpu",
    W,
    "A model of 7B parameters or more is served on CPU where GPUs are allowed.",
    category=Category.CAPACITY,
)
def large_model_on_cpu(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Whether a model of 7 billion parameters or more is served on CPU in an environment that
        allows GPUs.
    Why it matters:
        On CPU such a model answers at seconds per token: fine to try a deployment, unusable for the
        people who depend on the endpoint. A warning, and not reported where the environment allows
        no GPUs (a CPU-only dev cluster has no other choice).
    Wrong: an 8B model on CPU where the environment has GPUs
        # file: environments/stg/serving/support-chat.yaml
            resources:
              gpus: 0
              memory: 32Gi
        # file: environments/stg/catalog/support-model.yaml
            preset: llama-3.1-8b
    Right: a 1B model is quick enough on CPU (or serve the 8B one on GPUs)
        # file: environments/stg/catalog/support-model.yaml
            preset: llama-3.2-1b
    """
    if not env.settings.gpu.allowed:
        return
    for capacity in _capacities(env):
        parameters = capacity.facts.parameters
        if capacity.on_gpu or parameters is None or parameters.value < LARGE_MODEL_PARAMETERS:
            continue
        yield Finding(
            capacity.endpoint,
            (*RESOURCES, "gpus"),
            f"{capacity.model.subject} has {count(parameters.value)} parameters; on CPU it "
            "generates at seconds per token, for testing only",
            "serve it on GPUs (useGpu: true, gpus >= 1) where users depend on it",
            related=related(parameters, "parameters"),
        )


CHECKS = (
    capacity_facts_missing,
    weights_exceed_gpu_memory,
    sequence_exceeds_kv_cache,
    concurrency_exceeds_kv_cache,
    gpus_do_not_divide_heads,
    cpu_memory_below_model,
    large_model_on_cpu,
)
