"""`llmops explain`: the capacity arithmetic of one endpoint, with where every input came from."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.capacity_estate import environment_and_model
from tests.helpers.estate import PROJECT_ROOT, copy_bundled_estate, run_cli, write_files

MODEL_FILE = "environments/_shared/catalog/example-base-model.yaml"


def test_text_shows_inputs_with_their_sources_and_the_arithmetic() -> None:
    result = run_cli("explain", "example-model", "--env", "prod", str(PROJECT_ROOT))
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert f"{MODEL_FILE}:17 spec.metadata.parameters" in out
    assert "spec.metadata.preset (preset llama-2-7b)" in out
    assert (
        "environments/prod/environment.yaml:17 spec.gpu.product (A100-80GB, as nvidia-smi reports "
        "it)" in out
    )
    # 7e9 x 2 x 1.02 = 13.30 GiB; 80 x 0.9 - 2.3 = 69.70 GiB; 56.40 GiB / 512 KiB = 115,508 tokens;
    # 115,508 // 5,120 = 22 sequences per replica, 44 at minReplicas 2.
    assert "7,000,000,000 x 2 B x 1.02 = 13.30 GiB" in out
    assert "2 x 32 layers x 32 KV heads x 128 x 2 B = 512 KiB" in out
    assert "80 GiB x 0.9 - 2.3 GiB runtime overhead = 69.70 GiB" in out
    assert "115,508 tokens per replica" in out
    assert "5,120 tokens per sequence (the model allows 8,192)" in out
    assert "22 at full context per replica, 44 at minReplicas 2" in out
    assert out.rstrip().endswith("verdict: fits")


def test_json_carries_values_sources_and_results() -> None:
    result = run_cli(
        "explain", "example-model", "--env", "stg", str(PROJECT_ROOT), "--format", "json"
    )
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    inputs = {row["name"]: row for row in document["inputs"]}
    assert inputs["layers"]["value"] == 32
    assert inputs["layers"]["source"] == {
        "file": MODEL_FILE,
        "line": 23,
        "field": "spec.metadata.preset",
        "note": "preset llama-2-7b",
        "reference": "https://huggingface.co/meta-llama/Llama-2-7b-hf/blob/main/config.json",
    }
    # stg names no GPU memory: the endpoint's gpu_memory_gb (80) is used, and says so.
    assert inputs["GPU memory"]["source"]["field"] == "spec.deploymentSpec.resources.gpu_memory_gb"
    assert document["results"]["kv_bytes_per_token"] == 524288
    assert document["results"]["sequences_at_min_replicas"] == 22
    assert document["verdict"] == "fits" and document["diagnostics"] == []


def test_an_endpoint_that_cannot_start_exits_1_and_shows_why(tmp_path: Path) -> None:
    root = copy_bundled_estate(tmp_path)
    serving = root / "environments/prod/serving/example-model.yaml"
    serving.write_text(
        serving.read_text(encoding="utf-8").replace(
            "max_input_tokens: 4096", "max_input_tokens: 500000"
        ),
        encoding="utf-8",
    )
    result = run_cli("explain", "example-model", "--env", "prod", str(root))
    assert result.exit_code == 1
    assert "verdict: will not start" in result.stdout
    assert "error[E004]" in result.stdout and "error[C003]" in result.stdout


def test_a_cpu_endpoint_is_explained_against_its_memory() -> None:
    result = run_cli("explain", "example-model", "--env", "dev", str(PROJECT_ROOT))
    assert result.exit_code == 0
    # 13.30 GiB of weights + 5,120 tokens x 512 KiB = 2.50 GiB of KV cache + 2.3 GiB = 18.10 GiB ->
    # 19Gi.
    assert (
        "no resources.memory: llmops renders 19Gi, 13.30 GiB weights + 2.50 GiB KV cache + 2.3 "
        "GiB runtime overhead rounded up"
    ) in result.stdout
    assert "weights (CPU)       7,000,000,000 x 2 B x 1.02 = 13.30 GiB" in result.stdout
    assert "replica memory      19.00 GiB (3.20 GiB left)" in result.stdout


def test_an_assumed_preset_is_named_with_how_to_pin_another(tmp_path: Path) -> None:
    """The original platform's Model says only llama and 7B: explain shows the preset it assumed and
    how to state it."""
    root = copy_bundled_estate(tmp_path)
    model = root / MODEL_FILE
    model.write_text(
        model.read_text(encoding="utf-8")
        .replace(',\n      "preset": "llama-2-7b"', "")
        .replace(',\n      "context_length": 8192', ""),
        encoding="utf-8",
    )
    assert "preset" not in model.read_text(encoding="utf-8").split("spec:")[1]
    assert (
        run_cli(
            "approve",
            "example-base-model@1.0",
            "--env",
            "dev",
            "--by",
            "admin",
            "--role",
            "admin",
            str(root),
        ).exit_code
        == 0
    )
    result = run_cli("explain", "example-model", "--env", "dev", str(root))
    assert result.exit_code == 0, result.stdout
    assert (
        "spec.metadata.model_family (preset llama-2-7b, assumed from model_family and parameters)"
        in result.stdout
    )
    assert (
        "assumptions\n  the model is preset llama-2-7b, the only preset matching model_family "
        "llama and 7B parameters\n    to state it: pin it with spec.metadata.preset: llama-2-7b"
    ) in result.stdout
    assert "verdict: may not start: a finding rests on what llmops assumed" in result.stdout
    assert "warning[E004]" in result.stdout
    document = json.loads(
        run_cli("explain", "example-model", "--env", "dev", str(root), "--format", "json").stdout
    )
    assert [a["assumed"] for a in document["assumptions"]] == [
        "the model is preset llama-2-7b, the only preset matching model_family llama and 7B "
        "parameters"
    ]
    assert {row["name"]: row for row in document["inputs"]}["layers"]["source"]["assumed"] is True


def test_unknown_endpoint_or_environment_is_a_usage_error() -> None:
    missing = run_cli("explain", "nope", "--env", "prod", str(PROJECT_ROOT))
    assert missing.exit_code == 2
    assert (
        "no ServingEndpoint `nope` in environment `prod` (endpoints: example-model)"
        in missing.stderr
    )
    assert "llmops rules" not in missing.stderr
    # a rule's code typed into the wrong command: pointed to the one that explains rules
    code = run_cli("explain", "p002", "--env", "prod", str(PROJECT_ROOT))
    assert code.exit_code == 2 and "`llmops rules P002` explains the rule P002" in code.stderr
    assert run_cli("explain", "example-model", "--env", "qa", str(PROJECT_ROOT)).exit_code == 2
    # --env is required
    assert run_cli("explain", "example-model", str(PROJECT_ROOT)).exit_code == 2


def test_without_the_models_shape_the_weights_are_still_explained(tmp_path: Path) -> None:
    """A family no preset matches: the weights need only the parameter count (7B x 2 B x 1.02 =
    13.30 GiB against 8 x 0.9 - 2.3 = 4.90 GiB), the KV cache needs the shape."""
    write_files(
        tmp_path,
        {
            **environment_and_model("memoryGiB: 8", "model_family: falcon, parameters: 7B"),
            "environments/stg/endpoint.yaml": """
            apiVersion: llmops.io/v1
            kind: ServingEndpoint
            metadata: {name: e}
            spec:
              {modelId: m@1.0, route: /llm-ops/v1/serve/e, deploymentSpec: {resources: {gpus: 1}}}
            """,
        },
    )
    result = run_cli("explain", "e", "--env", "stg", str(tmp_path))
    assert result.exit_code == 1
    assert "  weights             7,000,000,000 x 2 B x 1.02 = 13.30 GiB\n" in result.stdout
    assert (
        "  usable per GPU      8 GiB x 0.9 - 2.3 GiB runtime overhead = 4.90 GiB\n" in result.stdout
    )
    assert (
        "  KV cache            not computed: missing num_layers, num_kv_heads, head_dim"
        in result.stdout
    )
    assert "verdict: will not start" in result.stdout and "error[C002]" in result.stdout


def test_a_model_whose_parameters_contradict_its_preset_is_named(tmp_path: Path) -> None:
    """The arithmetic weighs the model's parameters with its preset's layers: when the two
    disagree (C011, on the model), `explain` said "fits" without a word of it."""
    root = copy_bundled_estate(tmp_path)
    model = root / MODEL_FILE
    text = model.read_text(encoding="utf-8")
    assert '"parameters": "7B"' in text
    model.write_text(text.replace('"parameters": "7B"', '"parameters": "70B"'), encoding="utf-8")
    result = run_cli("explain", "example-model", "--env", "dev", str(root))
    assert "warning[C011]" in result.stdout, result.stdout
