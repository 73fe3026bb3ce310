"""Serving adapters: the GPU memory their slots take, and what an older KServe cannot do."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from compiler.capacity.endpoint import endpoint_capacity
from tests.helpers.estate import PROJECT_ROOT, run_cli, validate

EXAMPLE = PROJECT_ROOT / "examples" / "adapters"
ENDPOINT = "environments/dev/serving/support-chat.yaml"


def copy_example(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLE / "environments", tmp_path / "environments")
    return tmp_path


def capacity_of(root: Path) -> tuple[float, float]:
    """The replica's weights bytes (with adapters) and the KV cache it has room for."""
    env = validate(root, "dev").estate.environments[0]
    endpoint = env.resolve_named("ServingEndpoint", "support-chat").manifest
    assert endpoint is not None
    capacity = endpoint_capacity(env, endpoint)
    assert capacity is not None and capacity.gpu is not None
    return capacity.gpu.weights_bytes, capacity.gpu.kv_budget_bytes_per_gpu


def test_adapter_slots_count_against_the_gpu(tmp_path: Path) -> None:
    root = copy_example(tmp_path)
    with_adapter, budget_with = capacity_of(root)
    endpoint = root / ENDPOINT
    endpoint.write_text(endpoint.read_text().replace("  adapters:\n    - support-sft@1.0\n", ""))
    without, budget_without = capacity_of(root)
    # one slot of rank 16 (the job's lora_r) x 32 layers x 23 x 4096 (Llama 3.1 8B) x 2 bytes
    assert with_adapter - without == 1 * 16 * 32 * 23 * 4096 * 2
    assert budget_without - budget_with == with_adapter - without


def test_explain_shows_the_adapter_term(tmp_path: Path) -> None:
    root = copy_example(tmp_path)
    text = run_cli("explain", "support-chat", "--env", "dev", str(root)).stdout
    assert "+ 0.09 GiB LoRA (1 x rank 16 x 32 layers x 23 x 4096 x 2 B)" in text
    data = json.loads(
        run_cli("explain", "support-chat", "--env", "dev", str(root), "--format", "json").stdout
    )
    assert [report["model"] for report in data["lineage"]] == ["support-sft@1.0"]


def test_kserve_before_0_16_cannot_serve_adapters(tmp_path: Path) -> None:
    root = copy_example(tmp_path)
    settings = root / "environments/dev/environment.yaml"
    settings.write_text(settings.read_text().replace('"0.16"', '"0.15"'))
    found = [d for d in validate(root, "dev").diagnostics if d.code == "M007"]
    assert [d.message for d in found] == [
        "KServe 0.15 cannot serve LoRA adapters beside a model (storageUris and adapter "
        "registration came in KServe 0.16)"
    ]


def test_an_unapproved_adapter_is_not_served(tmp_path: Path) -> None:
    root = copy_example(tmp_path)
    (root / "environments/dev/approvals/support-sft-1-0-alice.yaml").unlink()
    found = [d for d in validate(root, "dev").diagnostics if d.code == "P001"]
    assert [d.message.split(":")[0] for d in found] == [
        "Model/support-sft@1.0 is not approved for environment `dev`"
    ]
    assert found[0].path == ("spec", "adapters", 0)
