"""`llmops explain`: the capacity arithmetic of one endpoint, with where every input came from."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.estate import PROJECT_ROOT, copy_bundled_estate, run_cli

MODEL_FILE = "environments/_shared/catalog/example-base-model.yaml"


def test_text_shows_inputs_with_their_sources_and_the_arithmetic() -> None:
    result = run_cli("explain", "example-model", "--env", "prod", str(PROJECT_ROOT))
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert f"{MODEL_FILE}:16 spec.metadata.parameters" in out
    assert "spec.metadata.preset (preset llama-3-8b)" in out
    assert "environments/prod/environment.yaml:17 spec.gpu.product (A100-80GB, as nvidia-smi reports it)" in out
    # 7e9 x 2 x 1.02 = 13.30 GiB; 80 x 0.9 - 2.3 = 69.70 GiB; 56.40 GiB / 128 KiB = 462,034 tokens;
    # 462,034 // 5,120 = 90 sequences per replica, 180 at minReplicas 2.
    assert "7,000,000,000 x 2 B x 1.02 = 13.30 GiB" in out
    assert "2 x 32 layers x 8 KV heads x 128 x 2 B = 128 KiB" in out
    assert "80 GiB x 0.9 - 2.3 GiB runtime overhead = 69.70 GiB" in out
    assert "462,034 tokens per replica" in out
    assert "5,120 tokens per sequence (the model allows 8,192)" in out
    assert "90 at full context per replica, 180 at minReplicas 2" in out
    assert out.rstrip().endswith("verdict: fits")


def test_json_carries_values_sources_and_results() -> None:
    result = run_cli("explain", "example-model", "--env", "stg", str(PROJECT_ROOT), "--format", "json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    inputs = {row["name"]: row for row in document["inputs"]}
    assert inputs["layers"]["value"] == 32
    assert inputs["layers"]["source"] == {"file": MODEL_FILE, "line": 22, "field": "spec.metadata.preset",
                                          "note": "preset llama-3-8b", "reference":
                                          "https://huggingface.co/meta-llama/Meta-Llama-3-8B/blob/main/config.json"}
    # stg names no GPU memory: the endpoint's gpu_memory_gb (80) is used, and says so.
    assert inputs["GPU memory"]["source"]["field"] == "spec.deploymentSpec.resources.gpu_memory_gb"
    assert document["results"]["kv_bytes_per_token"] == 131072
    assert document["results"]["sequences_at_min_replicas"] == 90
    assert document["verdict"] == "fits" and document["diagnostics"] == []


def test_an_endpoint_that_cannot_start_exits_1_and_shows_why(tmp_path: Path) -> None:
    root = copy_bundled_estate(tmp_path)
    serving = root / "environments/prod/serving/example-model.yaml"
    serving.write_text(serving.read_text(encoding="utf-8").replace("max_input_tokens: 4096",
                                                                   "max_input_tokens: 500000"), encoding="utf-8")
    result = run_cli("explain", "example-model", "--env", "prod", str(root))
    assert result.exit_code == 1
    assert "verdict: will not start" in result.stdout
    assert "error[E004]" in result.stdout and "error[C003]" in result.stdout


def test_a_cpu_endpoint_is_explained_against_its_memory() -> None:
    result = run_cli("explain", "example-model", "--env", "dev", str(PROJECT_ROOT))
    assert result.exit_code == 0
    assert "no resources.memory: llmops renders 16Gi" in result.stdout
    assert "weights (CPU)       7,000,000,000 x 2 B x 1.02 = 13.30 GiB" in result.stdout


def test_unknown_endpoint_or_environment_is_a_usage_error() -> None:
    missing = run_cli("explain", "nope", "--env", "prod", str(PROJECT_ROOT))
    assert missing.exit_code == 2
    assert "no ServingEndpoint `nope` in environment `prod` (endpoints: example-model)" in missing.stderr
    assert run_cli("explain", "example-model", "--env", "qa", str(PROJECT_ROOT)).exit_code == 2
    assert run_cli("explain", "example-model", str(PROJECT_ROOT)).exit_code == 2  # --env is required
