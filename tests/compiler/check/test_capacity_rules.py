"""The capacity rules' verdicts, positions and hints on small estates (numbers checked by hand)."""

from __future__ import annotations

from pathlib import Path

from compiler.diagnostics import Diagnostic
from tests.helpers.capacity_estate import environment_and_model
from tests.helpers.estate import validate, write_files


def estate(root: Path, model: str, endpoint: str, gpu: str = "memoryGiB: 24") -> list[Diagnostic]:
    write_files(root, {
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
    })
    return [d for d in validate(root).diagnostics if d.code.startswith("C") or d.code == "E004"]


def test_without_runtime_limits_the_whole_context_must_fit(tmp_path: Path) -> None:
    """No max_model_len: vLLM takes Llama 3.1's 131,072 tokens; one 24 GiB GPU holds 33,126."""
    (diagnostic,) = estate(tmp_path, "preset: llama-3.1-8b", "deploymentSpec: {resources: {gpus: 1}}")
    assert diagnostic.code == "C003"
    assert diagnostic.path == ("spec", "deploymentSpec", "resources", "gpus")
    assert "131,072 tokens" in diagnostic.message and "33,126 tokens" in diagnostic.message
    assert diagnostic.hint == ("set deploymentSpec.runtime limits with max_input_tokens + max_output_tokens <= 33126 "
                               "or use 2 GPUs per replica")


def test_the_hint_respects_the_environments_gpu_limit(tmp_path: Path) -> None:
    """With at most one GPU per replica, more GPUs is no way out."""
    (diagnostic,) = estate(tmp_path, "preset: llama-3.1-8b", "deploymentSpec: {resources: {gpus: 1}}",
                           gpu="memoryGiB: 24, maxPerEndpoint: 1")
    assert diagnostic.hint == "set deploymentSpec.runtime limits with max_input_tokens + max_output_tokens <= 33126"


def test_the_presets_context_bounds_the_token_limits(tmp_path: Path) -> None:
    """Llama 3 8B's context is 8,192 tokens: 8,000 + 1,024 exceed it (E004), pointing at the preset."""
    diagnostics = estate(tmp_path, "preset: llama-3-8b", "deploymentSpec: {resources: {gpus: 1}, runtime: "
                         "{max_concurrent_requests: 1, max_input_tokens: 8000, max_output_tokens: 1024}}",
                         gpu="memoryGiB: 80")
    assert [d.code for d in diagnostics] == ["E004"]
    assert diagnostics[0].hint == "set max_input_tokens <= 7168"
    assert diagnostics[0].related[0].message == "the model's context (preset llama-3-8b)"


def test_a_cpu_endpoint_without_a_dtype_loads_float32(tmp_path: Path) -> None:
    """3B in float32: 3e9 x 4 x 1.02 = 12.24e9 bytes = 11.40 GiB, more than 8Gi."""
    (diagnostic,) = estate(tmp_path, "parameters: 3B", "deploymentSpec: {resources: {gpus: 0, memory: 8Gi}}",
                           gpu="allowed: false")
    assert diagnostic.code == "C006"
    assert diagnostic.message.startswith("the model needs at least 11.40 GiB (3B parameters x 4 bytes x 1.02)")
    assert diagnostic.hint == "set resources.memory: 12Gi or more, or serve the model in a smaller dtype (dtype: bf16)"


def test_seven_billion_parameters_on_cpu_warn_only_where_gpus_are_allowed(tmp_path: Path) -> None:
    endpoint = "deploymentSpec: {resources: {gpus: 0, memory: 64Gi}}"
    assert [d.code for d in estate(tmp_path / "a", "parameters: 7B", endpoint, gpu="allowed: true")] == ["C007"]
    assert estate(tmp_path / "b", "parameters: 7B", endpoint, gpu="allowed: false") == []
    assert estate(tmp_path / "c", "parameters: 6B", endpoint, gpu="allowed: true") == []


def test_gpus_the_environment_forbids_get_no_capacity_noise(tmp_path: Path) -> None:
    diagnostics = estate(tmp_path, "parameters: 7B", "deploymentSpec: {resources: {gpus: 1}}", gpu="allowed: false")
    assert diagnostics == []  # P007 reports the GPU request; no C001 about facts that cannot matter
