"""Model facts: the Model's own fields win over its preset; nothing missing is guessed."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.capacity.endpoint import endpoint_capacity
from compiler.capacity.facts import kv_bytes, model_facts, weight_bytes
from compiler.capacity.presets import PRESETS
from compiler.resolve.manifest import Manifest
from compiler.resolve.model_digest import model_digest
from compiler.spec.model import parameter_count
from tests.helpers.capacity_estate import environment_and_model
from tests.helpers.estate import copy_bundled_estate, validate, write_files

# Gemma uses 256-wide heads that do not multiply out to its hidden size; every other row does.
HEAD_SIZE_NOT_HIDDEN_OVER_HEADS = {"gemma-7b", "gemma-2-2b", "gemma-2-9b", "gemma-2-27b"}


def estate(
    tmp_path: Path,
    metadata: str,
    endpoint_resources: str = "gpus: 1",
    environment: str = "memoryGiB: 80",
) -> tuple[Path, str]:
    write_files(
        tmp_path,
        {
            **environment_and_model(environment, metadata),
            "environments/stg/endpoint.yaml": f"""
            apiVersion: llmops.io/v1
            kind: ServingEndpoint
            metadata: {{name: e}}
            spec:
              modelId: m@1.0
              route: /llm-ops/v1/serve/e
              deploymentSpec:
                resources: {{{endpoint_resources}}}
            """,
        },
    )
    return tmp_path, "stg"


def the(root: Path, kind: str) -> tuple[Manifest, object]:
    result = validate(root)
    (env,) = result.estate.environments
    return env.of_kind(kind)[0], env


@pytest.mark.parametrize(
    ("written", "count"),
    [
        ("7B", 7_000_000_000),
        ("1.5B", 1_500_000_000),
        ("350M", 350_000_000),
        (7_000_000_000, 7_000_000_000),
    ],
)
def test_parameter_counts(written: int | str, count: int) -> None:
    assert parameter_count(written) == count


def test_the_models_own_facts_win_over_its_preset(tmp_path: Path) -> None:
    root, _ = estate(tmp_path, "preset: llama-3.1-8b, parameters: 7B, num_kv_heads: 4")
    model, _ = the(root, "Model")
    facts = model_facts(model)
    assert facts.parameters is not None and facts.parameters.value == 7_000_000_000
    assert facts.parameters.origin.path == ("spec", "metadata", "parameters")
    assert facts.kv_heads is not None and facts.kv_heads.value == 4
    assert facts.layers is not None and facts.layers.value == 32
    assert facts.layers.origin.note == "preset llama-3.1-8b"
    assert facts.layers.origin.reference == PRESETS["llama-3.1-8b"].source
    assert facts.context_length is not None and facts.context_length.value == 131_072


def test_head_size_from_hidden_size_and_heads(tmp_path: Path) -> None:
    root, _ = estate(tmp_path, "num_layers: 32, num_attention_heads: 32, hidden_size: 4096")
    model, _ = the(root, "Model")
    head_dim = model_facts(model).head_dim
    assert head_dim is not None and head_dim.value == 128
    assert head_dim.origin.path == ("spec", "metadata", "hidden_size")


def test_missing_facts_are_listed_never_guessed(tmp_path: Path) -> None:
    root, _ = estate(tmp_path, "parameters: 7B, num_layers: 32", environment="allowed: true")
    endpoint, env = the(root, "ServingEndpoint")
    capacity = endpoint_capacity(env, endpoint)  # type: ignore[arg-type]
    assert capacity is not None and capacity.gpu is None
    assert capacity.missing[:2] == ["num_kv_heads", "head_dim (or hidden_size)"]
    assert capacity.missing[2].startswith("the GPUs' memory")


def test_the_environments_gpu_memory_wins_over_the_endpoints(tmp_path: Path) -> None:
    root, _ = estate(
        tmp_path,
        "preset: llama-3.1-8b",
        endpoint_resources="gpus: 1, gpu_memory_gb: 80",
        environment="product: L4",
    )
    endpoint, env = the(root, "ServingEndpoint")
    capacity = endpoint_capacity(env, endpoint)  # type: ignore[arg-type]
    assert capacity is not None and capacity.gpu_memory_gib is not None
    assert capacity.gpu_memory_gib.value == pytest.approx(23034 / 1024)


def test_byte_sizes_follow_quantization_then_dtype_then_the_runtime_default(tmp_path: Path) -> None:
    root, _ = estate(tmp_path, "preset: llama-3.1-8b, dtype: bf16, quantization: awq")
    model, _ = the(root, "Model")
    assert weight_bytes(model, on_gpu=True).value == 0.5
    assert kv_bytes(model, on_gpu=True).value == 2
    bare, _ = the(estate(tmp_path / "bare", "preset: llama-3.1-8b")[0], "Model")
    assert weight_bytes(bare, on_gpu=True).value == 2.0  # KServe's --dtype auto: float16 on GPUs
    assert weight_bytes(bare, on_gpu=False).value == 4.0  # and float32 on CPUs
    assert kv_bytes(bare, on_gpu=False).origin.manifest is None


def test_an_unknown_preset_is_a_schema_error_with_a_suggestion(tmp_path: Path) -> None:
    root, _ = estate(tmp_path, "preset: llama-3.1-8B")
    (diagnostic,) = [d for d in validate(root).diagnostics if d.code == "S005"]
    assert diagnostic.path == ("spec", "metadata", "preset")
    assert "did you mean `llama-3.1-8b`?" in diagnostic.message


def test_an_unset_preset_leaves_the_digest_as_it_was(tmp_path: Path) -> None:
    """Approvals written before `preset` existed stay valid: the bundled model without its preset
    has the digest the previous release's approvals pinned; naming a preset is a change to
    approve."""
    root = copy_bundled_estate(tmp_path)
    catalog = root / "environments/_shared/catalog/example-base-model.yaml"
    text = catalog.read_text(encoding="utf-8")
    catalog.write_text(
        text.replace('"dtype": "bf16",\n      "preset": "llama-2-7b"', '"dtype": "bf16"'),
        encoding="utf-8",
    )
    model, _ = the_model(root)
    assert model.spec.metadata.preset is None
    assert (
        model_digest(model.model)
        == "sha256:6c94e47259ac7d9d9c7b200477a0769f4770c265ed014b789a030b969a906ec9"
    )
    catalog.write_text(text, encoding="utf-8")
    assert model_digest(the_model(root)[0].model) != model_digest(model.model)


def the_model(root: Path) -> tuple[Manifest, object]:
    env = validate(root, "dev").estate.environments[0]
    return env.of_kind("Model")[0], env


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_rows_are_consistent(name: str) -> None:
    preset = PRESETS[name]
    assert preset.attention_heads % preset.kv_heads == 0
    assert preset.source.startswith("https://huggingface.co/") and preset.source.endswith(
        "/config.json"
    )
    if name not in HEAD_SIZE_NOT_HIDDEN_OVER_HEADS:
        assert preset.hidden_size == preset.attention_heads * preset.head_dim
