"""Serving arithmetic: do the weights fit, and how many tokens of KV cache are left on a replica's
GPUs.

The model, per GPU of one replica (vLLM with tensor parallelism over ``gpus`` GPUs):

- weights = parameters x bytes per parameter x 1.02, split evenly over the GPUs. KAITO's estimator
  measured loaded weights at about 102 % of the checkpoint size (KAITO, "Model SKU Requirements
  Calculation Guide", vLLM 0.10.1).
- usable memory = GPU memory x 0.9 - 2.3 GiB. 0.9 is vLLM's default `--gpu-memory-utilization`, the
  fraction of the GPU vLLM may take; 2.3 GiB is what KAITO measured vLLM to hold per GPU besides
  weights and KV cache: at most 1.7 GiB of activations and 0.6 GiB of non-PyTorch memory (CUDA
  context).
- KV cache per token = 2 (keys and values) x layers x KV heads x head size x bytes per element. With
  tensor parallelism each GPU holds ``max(1, kv_heads // gpus)`` of the KV heads (vLLM replicates a
  KV head that cannot be split).
- tokens that fit = (usable memory - weights per GPU) / KV cache per token per GPU.

vLLM refuses to start when one sequence of `--max-model-len` tokens does not fit in the KV cache,
and queues requests beyond the sequences that fit. Worked example (tests/compiler/capacity):
Llama-3.1-8B in bf16 needs 128 KiB of KV cache per token; one 24 GiB GPU leaves room for about
33,000 tokens (22,000 on a 24 GB-class A10G or L4, which reports 22.5 GiB), so its 131,072-token
context cannot start, while an 80 GiB GPU holds about 446,000 tokens, the whole context 3.4 times
over.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import replace

from compiler.records import record

GIB = 1024**3
WEIGHT_OVERHEAD = 1.02
GPU_MEMORY_UTILIZATION = 0.9
ACTIVATION_RESERVE_GIB = 1.7
NON_TORCH_RESERVE_GIB = 0.6
RUNTIME_OVERHEAD_GIB = ACTIVATION_RESERVE_GIB + NON_TORCH_RESERVE_GIB


TENSOR_PARALLEL_SEARCH_LIMIT = 1024
# about 3,900 decimal digits, below Python's 4,300-digit limit for integer text
MAX_WRITTEN_BITS = 13_000


def as_float(value: int | float) -> float:
    """A count as a float for byte arithmetic; a count beyond a float's range is infinite, not a
    crash."""
    try:
        return float(value)
    except OverflowError:
        return math.inf


@record(eq=False, repr=False)
class GpuWeights:
    """Whether a replica's GPUs hold the weights: needs only the parameter count and its bytes."""

    parameters: int
    weight_bytes: float  # per parameter
    gpus: int
    gpu_memory_gib: float
    adapter_bytes: float = 0.0  # the LoRA adapters' slots (compiler/capacity/adapters.py)

    @property
    def weights_bytes(self) -> float:
        """All GPUs together, with the LoRA adapters' slots."""
        return as_float(self.parameters) * self.weight_bytes * WEIGHT_OVERHEAD + self.adapter_bytes

    @property
    def weights_bytes_per_gpu(self) -> float:
        return self.weights_bytes / as_float(self.gpus)

    @property
    def usable_bytes_per_gpu(self) -> float:
        return (self.gpu_memory_gib * GPU_MEMORY_UTILIZATION - RUNTIME_OVERHEAD_GIB) * GIB

    @property
    def kv_budget_bytes_per_gpu(self) -> float:
        """What the weights leave for the KV cache; negative when they do not fit."""
        return self.usable_bytes_per_gpu - self.weights_bytes_per_gpu

    @property
    def weights_fit(self) -> bool:
        return self.kv_budget_bytes_per_gpu > 0


@record(eq=False, repr=False)
class GpuServingInputs:
    """The numbers one replica's capacity depends on."""

    parameters: int
    weight_bytes: float  # per parameter
    layers: int
    kv_heads: int
    head_dim: int
    kv_bytes: int  # per cached element
    gpus: int
    gpu_memory_gib: float
    adapter_bytes: float = 0.0

    def weights(self) -> GpuWeights:
        return GpuWeights(
            self.parameters, self.weight_bytes, self.gpus, self.gpu_memory_gib, self.adapter_bytes
        )


@record(eq=False, repr=False)
class GpuServing:
    """How one replica's GPU memory divides between the weights and the KV cache."""

    inputs: GpuServingInputs
    weights_bytes: float  # all GPUs together
    kv_bytes_per_token: int  # the whole model's, all GPUs together
    kv_bytes_per_token_per_gpu: int
    usable_bytes_per_gpu: float
    kv_budget_bytes_per_gpu: float  # negative when the weights do not fit

    @property
    def weights_bytes_per_gpu(self) -> float:
        return self.weights_bytes / as_float(self.inputs.gpus)

    @property
    def weights_fit(self) -> bool:
        return self.kv_budget_bytes_per_gpu > 0

    @property
    def kv_tokens(self) -> int:
        """Tokens of KV cache a replica holds (0 when the weights leave no room)."""
        if not self.weights_fit:
            return 0
        tokens = self.kv_budget_bytes_per_gpu / as_float(self.kv_bytes_per_token_per_gpu)
        if math.isnan(tokens):  # an infinite budget over an infinite size: say nothing fits
            return 0
        # an infinite budget holds "as many as a float says"
        return math.floor(min(tokens, sys.float_info.max))

    def sequences(self, tokens_per_sequence: int) -> int:
        """Sequences of ``tokens_per_sequence`` tokens the replica holds at once."""
        return self.kv_tokens // tokens_per_sequence


def gpu_serving(inputs: GpuServingInputs) -> GpuServing:
    weights = inputs.weights()
    kv_per_token = 2 * inputs.layers * inputs.kv_heads * inputs.head_dim * inputs.kv_bytes
    kv_heads_per_gpu = max(1, inputs.kv_heads // inputs.gpus)
    kv_per_token_per_gpu = 2 * inputs.layers * kv_heads_per_gpu * inputs.head_dim * inputs.kv_bytes
    return GpuServing(
        inputs=inputs,
        weights_bytes=weights.weights_bytes,
        kv_bytes_per_token=kv_per_token,
        kv_bytes_per_token_per_gpu=kv_per_token_per_gpu,
        usable_bytes_per_gpu=weights.usable_bytes_per_gpu,
        kv_budget_bytes_per_gpu=weights.kv_budget_bytes_per_gpu,
    )


def tensor_parallel_ok(gpus: int, attention_heads: int | None, kv_heads: int | None) -> bool:
    """vLLM splits attention heads evenly over the GPUs, and KV heads evenly or by replication."""
    if attention_heads is not None and attention_heads % gpus:
        return False
    if kv_heads is not None:
        return kv_heads % gpus == 0 if kv_heads >= gpus else gpus % kv_heads == 0
    return True


def valid_gpu_counts(attention_heads: int | None, kv_heads: int | None, limit: int) -> list[int]:
    """The tensor-parallel sizes up to ``limit``, searched up to 1,024 GPUs per replica whatever the
    limit says (no node or NVLink domain holds more), so the search costs the same for any number
    written."""
    top = min(limit, TENSOR_PARALLEL_SEARCH_LIMIT)
    return [
        count for count in range(1, top + 1) if tensor_parallel_ok(count, attention_heads, kv_heads)
    ]


def gpus_needed(
    inputs: GpuServingInputs, tokens: int, attention_heads: int | None, limit: int
) -> int | None:
    """The fewest GPUs per replica (a valid tensor-parallel size, at most ``limit``) that hold
    ``tokens``.

    A replica's KV cache only grows with its GPU count (the weights spread thinner, each GPU holds
    fewer KV heads), so the valid counts are bisected: a few evaluations for any limit.
    """

    def holds(count: int) -> bool:
        return gpu_serving(replace(inputs, gpus=count)).kv_tokens >= tokens

    return _fewest(valid_gpu_counts(attention_heads, inputs.kv_heads, limit), holds)


def gpus_for_weights(
    weights: GpuWeights, attention_heads: int | None, kv_heads: int | None, limit: int
) -> int | None:
    """The fewest GPUs per replica (a valid tensor-parallel size, at most ``limit``) that hold the
    weights."""
    return _fewest(
        valid_gpu_counts(attention_heads, kv_heads, limit),
        lambda count: replace(weights, gpus=count).weights_fit,
    )


def _fewest(counts: list[int], enough: Callable[[int], bool]) -> int | None:
    """The first of ``counts`` (ascending) for which ``enough`` holds, given that it keeps holding
    after."""
    low, high = 0, len(counts)
    while low < high:
        middle = (low + high) // 2
        if enough(counts[middle]):
            high = middle
        else:
            low = middle + 1
    return counts[low] if low < len(counts) else None


def cpu_weights_bytes(parameters: int, weight_bytes: float) -> float:
    return as_float(parameters) * weight_bytes * WEIGHT_OVERHEAD


def grouped(count: int) -> str:
    """`462,034`; a count too long for Python to write as text (its 4,300-digit limit) is described
    instead."""
    return f"{count:,}" if count.bit_length() <= MAX_WRITTEN_BITS else "more than 10^3900"


def plain(count: int) -> str:
    """`5120` (a sum or difference of written numbers, which may be too long to write: then
    described)."""
    return str(count) if count.bit_length() <= MAX_WRITTEN_BITS else "more than 10^3900"


def json_count(count: int) -> int | None:
    """A count for JSON output: as is, or null when it is too long to write as a number."""
    return count if count.bit_length() <= MAX_WRITTEN_BITS else None


def gib(value: float) -> str:
    """Bytes as GiB for messages: `15.26 GiB`."""
    return f"{as_float(value) / GIB:.2f} GiB"


def kib(value: float) -> str:
    return f"{as_float(value) / 1024:g} KiB"
