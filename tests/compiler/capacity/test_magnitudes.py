"""No check's cost depends on how large a number is: huge GPU counts, limits, head counts, parameter
counts, memories and token limits finish like small ones, through every command that runs the
checks.

`gpus: 99999999999999999999` once made validate, render, explain and `cmp generate` loop for minutes
over `range(1, gpus + 1)`. The schema stage now refuses such values (every number has a range), and
the capacity arithmetic stays bounded whatever it is given (the property tests below). These tests
are not timed (timings belong to benchmarks/bench_worst_case.py); a regression shows as a test that
does not finish.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.capacity.serving import (
    TENSOR_PARALLEL_SEARCH_LIMIT,
    GpuServingInputs,
    GpuWeights,
    gpu_serving,
    gpus_for_weights,
    gpus_needed,
    tensor_parallel_ok,
    valid_gpu_counts,
)
from llmops.cli.cmp import ENV_VARIABLE
from tests.helpers.capacity_estate import environment_and_model
from tests.helpers.estate import run_cli, write_files

HUGE = 99_999_999_999_999_999_999
LONG = "9" * 4000  # below Python's 4,300-digit limit for integer text
LONGEST = "9" * 4300  # Python's limit: a sum of two has 4,301 digits, which str() refuses
LIMITLESS = f"maxPerEndpoint: {10**12}"
LLAMA_7B = "model_family: llama, parameters: 7B"  # llama-2-7b's shape, assumed
CASES = {  # id -> (environment gpu settings, Model metadata, endpoint deploymentSpec)
    "gpus": ("memoryGiB: 80", LLAMA_7B, f"{{resources: {{gpus: {HUGE}}}}}"),
    "limit, heads do not divide": (
        f"memoryGiB: 80, {LIMITLESS}",
        LLAMA_7B,
        "{resources: {gpus: 3}}",
    ),
    "limit, context beyond the KV cache": (
        f"memoryGiB: 18, {LIMITLESS}",
        LLAMA_7B,
        "{resources: {gpus: 1}}",
    ),
    "limit, weights beyond the GPU, no shape": (
        f"memoryGiB: 8, {LIMITLESS}",
        "parameters: 7B",
        "{resources: {gpus: 1}}",
    ),
    "heads": (
        f"memoryGiB: 80, {LIMITLESS}",
        f"parameters: 7B, num_layers: {HUGE}, num_attention_heads: {HUGE}, "
        f"num_kv_heads: {HUGE}, head_dim: {HUGE}, context_length: {HUGE}",
        "{resources: {gpus: 7}}",
    ),
    "parameters": (
        f"memoryGiB: 80, {LIMITLESS}",
        f"model_family: llama, parameters: {HUGE}T",
        "{resources: {gpus: 1}}",
    ),
    "parameters written too long for a float": (
        f"memoryGiB: 80, {LIMITLESS}",
        f"model_family: llama, parameters: {'9' * 400}B",
        "{resources: {gpus: 1}}",
    ),
    "parameters on CPU": (
        "allowed: true",
        f"model_family: llama, parameters: {HUGE}T",
        "{resources: {gpus: 0}}",
    ),
    "GPU memory": ("memoryGiB: 1.0e+300", LLAMA_7B, "{resources: {gpus: 1}}"),
    "token limits": (
        f"memoryGiB: 80, {LIMITLESS}",
        LLAMA_7B,
        f"{{resources: {{gpus: 1}}, runtime: {{max_concurrent_requests: {HUGE}, max_input_tokens: "
        f"{HUGE}, max_output_tokens: {HUGE}}}}}",
    ),
    "4,000 digits everywhere": (
        f"memoryGiB: 80, maxPerEndpoint: {LONG}",
        f"parameters: {LONG}, num_layers: {LONG}, num_attention_heads: {LONG}, "
        f"num_kv_heads: {LONG}, head_dim: {LONG}, context_length: {LONG}",
        f"{{resources: {{gpus: {LONG}}}, runtime: {{max_concurrent_requests: {LONG}, "
        f"max_input_tokens: {LONG}, max_output_tokens: {LONG}}}}}",
    ),
}


def huge_estate(
    root: Path, gpu: str, model: str, deployment: str, *, approve: bool = False
) -> Path:
    on_gpu = "gpus: 0" not in deployment
    write_files(
        root,
        {
            **environment_and_model(gpu, model),
            "environments/stg/endpoint.yaml": f"""
            apiVersion: llmops.io/v1
            kind: ServingEndpoint
            metadata: {{name: e}}
            spec:
              modelId: m@1.0
              route: /llm-ops/v1/serve/e
              useGpu: {str(on_gpu).lower()}
              deploymentSpec: {deployment}
            """,
        },
    )
    if approve:
        assert (
            run_cli(
                "approve", "m@1.0", "--env", "stg", "--by", "admin", "--role", "admin", str(root)
            ).exit_code
            == 0
        )
    return root


@pytest.mark.parametrize("case", CASES)
def test_huge_values_finish_in_every_command_that_runs_the_checks(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = huge_estate(tmp_path, *CASES[case])
    monkeypatch.setenv(ENV_VARIABLE, "stg")
    refused = run_cli("validate", str(root))
    assert refused.exit_code == 1 and ("[S005]" in refused.stdout or "[Y018]" in refused.stdout), (
        refused.stdout
    )
    for argv in (
        ["render", str(root)],
        ["explain", "e", "--env", "stg", str(root)],
        ["explain", "e", "--env", "stg", str(root), "--format", "json"],
        ["cmp", "generate", str(root)],
    ):
        result = run_cli(*argv)
        assert result.exit_code in (1, 2), (argv, result.stderr)
        assert "internal error" not in result.stderr


def test_the_largest_gpu_count_is_told_the_counts_that_work(tmp_path: Path) -> None:
    root = huge_estate(
        tmp_path,
        "memoryGiB: 80, maxPerEndpoint: 64",
        LLAMA_7B,
        "{resources: {gpus: 63}}",
        approve=True,
    )
    output = run_cli("validate", str(root)).stdout
    assert "63 GPUs per replica cannot split Model/m@1.0's 32 attention heads" in output
    assert "hint: use 1, 2, 4, 8, 16 or 32 GPUs per replica" in output


def test_the_widest_environment_still_gets_the_fewest_gpus(tmp_path: Path) -> None:
    """7B in float16 is 13.30 GiB; 8 GiB GPUs offer 4.90 GiB each: three hold it (4.43 GiB each)."""
    root = huge_estate(
        tmp_path,
        "memoryGiB: 8, maxPerEndpoint: 64",
        "parameters: 7B",
        "{resources: {gpus: 1}}",
        approve=True,
    )
    assert "hint: use 3 GPUs per replica" in run_cli("validate", str(root)).stdout


COUNTS = st.one_of(st.integers(1, 64), st.integers(1, 10**30))


@settings(max_examples=200, deadline=None)
@given(
    attention=st.one_of(st.none(), COUNTS),
    kv=st.one_of(st.none(), COUNTS),
    limit=st.integers(0, 10**30),
)
def test_the_tensor_parallel_search_is_bounded_and_exact(
    attention: int | None, kv: int | None, limit: int
) -> None:
    counts = valid_gpu_counts(attention, kv, limit)
    assert len(counts) <= TENSOR_PARALLEL_SEARCH_LIMIT
    top = min(limit, TENSOR_PARALLEL_SEARCH_LIMIT)
    assert counts == [n for n in range(1, top + 1) if tensor_parallel_ok(n, attention, kv)]


@settings(max_examples=200, deadline=None)
@given(
    parameters=st.integers(10**6, 10**30),
    memory=st.floats(1, 10**6),
    limit=st.integers(0, 10**30),
    tokens=st.integers(1, 10**9),
    kv_heads=st.sampled_from([1, 2, 4, 8, 32, 40]),
)
def test_the_bisection_finds_what_a_linear_search_finds(
    parameters: int, memory: float, limit: int, tokens: int, kv_heads: int
) -> None:
    """The fewest GPUs: bisected over the valid counts, equal to the first valid count that fits."""
    inputs = GpuServingInputs(
        parameters=parameters,
        weight_bytes=2,
        layers=32,
        kv_heads=kv_heads,
        head_dim=128,
        kv_bytes=2,
        gpus=1,
        gpu_memory_gib=memory,
    )
    counts = valid_gpu_counts(kv_heads * 4, kv_heads, limit)
    linear = next(
        (
            n
            for n in counts
            if gpu_serving(GpuServingInputs(**{**inputs.__dict__, "gpus": n})).kv_tokens >= tokens
        ),
        None,
    )
    assert gpus_needed(inputs, tokens, kv_heads * 4, limit) == linear
    weights = GpuWeights(parameters, 2, 1, memory)
    fits = next((n for n in counts if GpuWeights(parameters, 2, n, memory).weights_fit), None)
    assert gpus_for_weights(weights, kv_heads * 4, kv_heads, limit) == fits
