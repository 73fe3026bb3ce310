"""The capacity rules' verdicts, positions and hints on small estates (numbers checked by hand)."""

from __future__ import annotations

from pathlib import Path

from compiler.diagnostics import Diagnostic
from tests.helpers.capacity_estate import environment_and_model
from tests.helpers.estate import validate, write_files


def estate(root: Path, model: str, endpoint: str, gpu: str = "memoryGiB: 24") -> list[Diagnostic]:
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
              {endpoint}
            """,
        },
    )
    return [d for d in validate(root).diagnostics if d.code.startswith("C") or d.code == "E004"]


def test_without_runtime_limits_the_whole_context_must_fit(tmp_path: Path) -> None:
    """No max_model_len: vLLM takes Llama 3.1's 131,072 tokens; one 24 GiB GPU holds 33,126."""
    (diagnostic,) = estate(
        tmp_path, "preset: llama-3.1-8b", "deploymentSpec: {resources: {gpus: 1}}"
    )
    assert diagnostic.code == "C003"
    assert diagnostic.path == ("spec", "deploymentSpec", "resources", "gpus")
    assert "131,072 tokens" in diagnostic.message and "33,126 tokens" in diagnostic.message
    assert diagnostic.hint == (
        "set deploymentSpec.runtime limits with max_input_tokens + max_output_tokens <= 33126 "
        "or use 2 GPUs per replica"
    )


def test_the_hint_respects_the_environments_gpu_limit(tmp_path: Path) -> None:
    """With at most one GPU per replica, more GPUs is no way out."""
    (diagnostic,) = estate(
        tmp_path,
        "preset: llama-3.1-8b",
        "deploymentSpec: {resources: {gpus: 1}}",
        gpu="memoryGiB: 24, maxPerEndpoint: 1",
    )
    assert (
        diagnostic.hint
        == "set deploymentSpec.runtime limits with max_input_tokens + max_output_tokens <= 33126"
    )


def test_the_presets_context_bounds_the_token_limits(tmp_path: Path) -> None:
    """Llama 3 8B's context is 8,192 tokens: 8,000 + 1,024 exceed it (E004), pointing at the
    preset."""
    diagnostics = estate(
        tmp_path,
        "preset: llama-3-8b",
        "deploymentSpec: {resources: {gpus: 1}, runtime: "
        "{max_concurrent_requests: 1, max_input_tokens: 8000, max_output_tokens: 1024}}",
        gpu="memoryGiB: 80",
    )
    assert [d.code for d in diagnostics] == ["E004"]
    assert diagnostics[0].hint == "set max_input_tokens <= 7168"
    assert diagnostics[0].related[0].message == "the model's context (preset llama-3-8b)"


def test_a_cpu_endpoint_without_a_dtype_loads_float32_an_assumption_when_16_bits_would_fit(
    tmp_path: Path,
) -> None:
    """3B in float32: 3e9 x 4 x 1.02 = 12.24e9 bytes = 11.40 GiB, more than 8Gi; in bf16 (5.70 GiB)
    it would fit, so the verdict rests on the dtype llmops assumed: a warning saying how to state
    it."""
    (diagnostic,) = estate(
        tmp_path,
        "parameters: 3B",
        "deploymentSpec: {resources: {gpus: 0, memory: 8Gi}}",
        gpu="allowed: false",
    )
    assert (diagnostic.code, diagnostic.severity.value) == ("C006", "warning")
    assert diagnostic.message.startswith(
        "the model needs at least 11.40 GiB (3B parameters x 4 bytes x 1.02)"
    )
    assert diagnostic.message.endswith(
        "(assuming float32 weights: the Model names no dtype, and no dtype: the "
        "runtime's --dtype auto loads float32 on CPUs)"
    )
    # 11.40 GiB + 2.3 GiB runtime overhead = 13.70 -> 14Gi, what llmops renders when memory is not
    # written.
    assert diagnostic.hint == (
        "set resources.memory: 14Gi (what llmops renders without it: this need plus 2.3 GiB "
        "runtime overhead), or serve the model in a smaller dtype (dtype: bf16); to state what "
        "llmops assumed, write spec.metadata.dtype (bf16, fp16 or fp32)"
    )


def test_a_cpu_endpoint_too_small_in_any_dtype_is_an_error(tmp_path: Path) -> None:
    """5B: 9.50 GiB even in 16 bits, more than 8Gi: the manifest's own facts decide."""
    (diagnostic,) = estate(
        tmp_path,
        "parameters: 5B",
        "deploymentSpec: {resources: {gpus: 0, memory: 8Gi}}",
        gpu="allowed: false",
    )
    assert (diagnostic.code, diagnostic.severity.value) == ("C006", "error")
    assert "assuming" not in diagnostic.message


def test_without_resources_memory_llmops_renders_what_the_model_needs(tmp_path: Path) -> None:
    """The default CPU memory is derived from the model, so it passes llmops's own check: 7B in
    float32 is
    26.60 GiB, which a fixed 16Gi default failed."""
    assert (
        estate(
            tmp_path,
            "parameters: 7B",
            "deploymentSpec: {resources: {gpus: 0}}",
            gpu="allowed: false",
        )
        == []
    )


def test_the_weights_check_needs_only_parameters_and_dtype(tmp_path: Path) -> None:
    """A family no preset matches, so the shape is unknown: 7B in float16 is 13.30 GiB; one 8 GB GPU
    offers 8 x 0.9 - 2.3 = 4.90 GiB. The weights cannot fit whatever the shape (C002, an error;
    three GPUs hold
    4.43 GiB each); the KV cache is what cannot be checked (C001)."""
    diagnostics = estate(
        tmp_path,
        "model_family: falcon, parameters: 7B",
        "deploymentSpec: {resources: {gpus: 1, gpu_memory_gb: 8}}",
        gpu="allowed: true",
    )
    assert [(d.code, d.severity.value) for d in diagnostics] == [
        ("C002", "error"),
        ("C001", "info"),
    ]
    weights = diagnostics[0]
    assert weights.message == (
        "the weights need 13.30 GiB per GPU (7B parameters x 2 bytes x 1.02) but each GPU has "
        "8 GiB x 0.9 - 2.3 GiB runtime overhead = 4.90 GiB for them"
    )
    assert (
        weights.hint
        == "use 3 GPUs per replica, GPUs with more memory or a quantized model (quantization: awq)"
    )
    assert (
        "so the KV cache of ServingEndpoint/e on GPUs in `stg` cannot be checked"
        in diagnostics[1].message
    )


# what the original platform's Model body says about itself
ORIGINAL_MODEL = "model_family: llama, parameters: 7B"
ASSUMED = (
    "(assuming the model is preset llama-2-7b, the only preset matching model_family llama and 7B "
    "parameters)"
)
PIN = (
    "to state what llmops assumed, pin it with spec.metadata.preset: llama-2-7b, name another "
    "preset, or write the model's own context_length, num_layers, num_attention_heads, "
    "num_kv_heads and head_dim from its config.json"
)


def test_llama_and_7b_assume_the_one_matching_preset_so_tensor_parallel_sizes_are_checked(
    tmp_path: Path,
) -> None:
    """Llama 2 7B has 32 attention heads: three GPUs cannot split them. The shape is assumed: a
    warning."""
    diagnostics = estate(
        tmp_path, ORIGINAL_MODEL, "deploymentSpec: {resources: {gpus: 3}}", gpu="memoryGiB: 80"
    )
    assert [(d.code, d.severity.value) for d in diagnostics] == [("C005", "warning")]
    assert diagnostics[0].message == (
        "3 GPUs per replica cannot split Model/m@1.0's 32 attention heads and 32 KV "
        f"heads evenly (vLLM's tensor-parallel size must divide them) {ASSUMED}"
    )
    assert diagnostics[0].hint == f"use 1, 2, 4 or 8 GPUs per replica; {PIN}"
    assert diagnostics[0].related[0].message == (
        "attention heads (preset llama-2-7b, assumed from model_family and parameters)"
    )


def test_llama_and_7b_check_the_context_against_the_kv_budget(tmp_path: Path) -> None:
    """Llama 2 7B in float16: 13.30 GiB of weights; 18 x 0.9 - 2.3 = 13.90 GiB usable leaves 0.60
    GiB, at 512 KiB per token (2 x 32 x 32 x 128 x 2) 1,230 tokens: its 4,096-token context does not
    fit."""
    (diagnostic,) = estate(
        tmp_path, ORIGINAL_MODEL, "deploymentSpec: {resources: {gpus: 1}}", gpu="memoryGiB: 18"
    )
    assert (diagnostic.code, diagnostic.severity.value) == ("C003", "warning")
    assert diagnostic.message.startswith(
        "one sequence of 4,096 tokens needs 2.00 GiB of KV cache (512 KiB per token) "
        "but a replica on 1 x 18 GiB GPU has room for 1,230 tokens after the weights"
    )
    assert diagnostic.message.endswith(ASSUMED)
    assert diagnostic.hint.endswith(PIN)


def test_a_named_preset_makes_the_same_verdict_an_error(tmp_path: Path) -> None:
    diagnostics = estate(
        tmp_path,
        f"{ORIGINAL_MODEL}, preset: llama-2-7b",
        "deploymentSpec: {resources: {gpus: 3}}",
        gpu="memoryGiB: 80",
    )
    assert [(d.code, d.severity.value) for d in diagnostics] == [("C005", "error")]
    assert "assuming" not in diagnostics[0].message


def test_several_matching_presets_are_named_not_guessed(tmp_path: Path) -> None:
    """llama and 8B match Llama 3 8B and Llama 3.1 8B (whose contexts differ): nothing is
    assumed."""
    diagnostics = estate(
        tmp_path,
        "model_family: llama, parameters: 8B",
        "deploymentSpec: {resources: {gpus: 1}}",
        gpu="memoryGiB: 80",
    )
    assert [d.code for d in diagnostics] == ["C001"]
    assert diagnostics[0].hint == (
        "model_family llama and 8B parameters match the presets llama-3-8b or llama-3.1-8b: "
        "name the one it is (e.g. `preset: llama-3-8b`) or write the missing numbers from "
        "its config.json"
    )


def test_seven_billion_parameters_on_cpu_warn_only_where_gpus_are_allowed(tmp_path: Path) -> None:
    endpoint = "deploymentSpec: {resources: {gpus: 0, memory: 64Gi}}"
    assert [
        d.code for d in estate(tmp_path / "a", "parameters: 7B", endpoint, gpu="allowed: true")
    ] == ["C007"]
    assert estate(tmp_path / "b", "parameters: 7B", endpoint, gpu="allowed: false") == []
    assert estate(tmp_path / "c", "parameters: 6B", endpoint, gpu="allowed: true") == []


def test_gpus_the_environment_forbids_get_no_capacity_noise(tmp_path: Path) -> None:
    diagnostics = estate(
        tmp_path, "parameters: 7B", "deploymentSpec: {resources: {gpus: 1}}", gpu="allowed: false"
    )
    assert diagnostics == []  # P007 reports the GPU request; no C001 about facts that cannot matter
