"""Serving arithmetic against numbers worked out by hand (and the published Llama-3.1-8B example).

Hand arithmetic, Llama-3.1-8B in bf16 (8.03B parameters, 32 layers, 8 KV heads, head size 128):
- KV cache per token = 2 x 32 x 8 x 128 x 2 bytes = 131,072 bytes = 128 KiB.
- weights = 8.03e9 x 2 x 1.02 = 16,381,200,000 bytes = 15.2562 GiB.
- one 24 GiB GPU: 24 x 0.9 - 2.3 = 19.3 GiB usable; 19.3 - 15.2562 = 4.0438 GiB of KV cache; a GiB
  holds 8,192 tokens of 128 KiB, so 4.0438 x 8,192 = 33,126 tokens: the 131,072-token context does
  not fit (a quarter of it does).
- one 80 GiB GPU: 80 x 0.9 - 2.3 = 69.7 GiB; 69.7 - 15.2562 = 54.4438 GiB x 8,192 = 446,003 tokens,
  the whole context 3.4 times over.
"""

from __future__ import annotations

import pytest

from compiler.capacity.gpus import product_memory_gib
from compiler.capacity.serving import (
    GIB,
    GpuServingInputs,
    cpu_weights_bytes,
    gpu_serving,
    gpus_needed,
    tensor_parallel_ok,
    valid_gpu_counts,
)

LLAMA_31_8B = GpuServingInputs(
    parameters=8_030_000_000,
    weight_bytes=2,
    layers=32,
    kv_heads=8,
    head_dim=128,
    kv_bytes=2,
    gpus=1,
    gpu_memory_gib=24,
)
FULL_CONTEXT = 131_072


def on(memory_gib: float, gpus: int = 1) -> GpuServingInputs:
    return GpuServingInputs(**{**LLAMA_31_8B.__dict__, "gpu_memory_gib": memory_gib, "gpus": gpus})


def test_llama_31_8b_needs_128_kib_of_kv_cache_per_token() -> None:
    assert gpu_serving(LLAMA_31_8B).kv_bytes_per_token == 128 * 1024


def test_weights_are_parameters_times_bytes_times_1_02() -> None:
    serving = gpu_serving(LLAMA_31_8B)
    assert serving.weights_bytes == pytest.approx(16_381_200_000)
    assert serving.weights_bytes / GIB == pytest.approx(15.256, abs=0.001)


def test_one_24_gib_gpu_holds_about_33k_tokens_so_the_full_context_fails() -> None:
    serving = gpu_serving(on(24))
    assert serving.usable_bytes_per_gpu / GIB == pytest.approx(19.3)
    assert serving.kv_budget_bytes_per_gpu / GIB == pytest.approx(4.0438, abs=0.0001)
    assert serving.kv_tokens == 33_126
    assert serving.kv_tokens < FULL_CONTEXT and serving.sequences(FULL_CONTEXT) == 0


def test_24_gb_class_products_report_less_and_hold_about_22k_tokens() -> None:
    """A10G and L4 are sold as 24 GB but report 23,028 and 23,034 MiB (22.49 GiB)."""
    assert product_memory_gib("A10G") == pytest.approx(22.488, abs=0.001)
    assert gpu_serving(on(product_memory_gib("A10G"))).kv_tokens == 21_981
    assert gpu_serving(on(product_memory_gib("L4"))).kv_tokens == 22_024


def test_one_80_gib_gpu_fits_the_full_context_about_three_times() -> None:
    serving = gpu_serving(on(80))
    assert serving.kv_tokens == 446_003
    assert serving.sequences(FULL_CONTEXT) == 3
    assert serving.kv_tokens / FULL_CONTEXT == pytest.approx(3.40, abs=0.01)


def test_two_gpus_split_weights_and_kv_heads() -> None:
    """Per GPU: 19.3 - 15.2562 / 2 = 11.6719 GiB; 4 of 8 KV heads, 64 KiB per token:
    11.6719 x 16,384 = 191,232 tokens."""
    serving = gpu_serving(on(24, gpus=2))
    assert serving.weights_bytes_per_gpu / GIB == pytest.approx(7.628, abs=0.001)
    assert serving.kv_bytes_per_token_per_gpu == 64 * 1024
    assert serving.kv_tokens == 191_232
    assert gpus_needed(on(24), FULL_CONTEXT, attention_heads=32, limit=8) == 2


def test_more_gpus_than_kv_heads_replicate_them() -> None:
    """Qwen2.5-7B has 4 KV heads: on 8 GPUs each holds one (vLLM replicates), not half of one."""
    qwen = GpuServingInputs(
        parameters=7_620_000_000,
        weight_bytes=2,
        layers=28,
        kv_heads=4,
        head_dim=128,
        kv_bytes=2,
        gpus=8,
        gpu_memory_gib=24,
    )
    assert gpu_serving(qwen).kv_bytes_per_token_per_gpu == 2 * 28 * 1 * 128 * 2


def test_weights_that_exceed_the_gpu_leave_no_tokens() -> None:
    """Llama-3.1-70B: 70.55e9 x 2 x 1.02 = 134.04 GiB > 69.7 GiB usable on one 80 GiB GPU."""
    big = GpuServingInputs(
        parameters=70_550_000_000,
        weight_bytes=2,
        layers=80,
        kv_heads=8,
        head_dim=128,
        kv_bytes=2,
        gpus=1,
        gpu_memory_gib=80,
    )
    serving = gpu_serving(big)
    assert serving.weights_bytes / GIB == pytest.approx(134.04, abs=0.01)
    assert not serving.weights_fit and serving.kv_tokens == 0
    assert gpus_needed(big, 1, attention_heads=64, limit=8) == 2


def test_tensor_parallel_sizes_must_divide_the_heads() -> None:
    assert valid_gpu_counts(32, 8, 8) == [1, 2, 4, 8]
    assert valid_gpu_counts(28, 4, 8) == [1, 2, 4]  # Qwen2.5-7B: 28 heads rule out 8
    assert valid_gpu_counts(40, 40, 8) == [1, 2, 4, 5, 8]  # Llama-2-13B
    assert not tensor_parallel_ok(3, 32, 8)
    assert tensor_parallel_ok(8, 32, 4)  # 8 GPUs replicate 4 KV heads twice


def test_cpu_weights() -> None:
    """7B in float32 (the CPU default): 7e9 x 4 x 1.02 = 28.56e9 bytes = 26.60 GiB."""
    assert cpu_weights_bytes(7_000_000_000, 4) / GIB == pytest.approx(26.599, abs=0.001)
