"""Data parallelism in the capacity arithmetic: each data-parallel rank of an LLMInferenceService
holds the whole model on its share of the replica's GPUs, so weights and KV cache are counted per
rank, never spread over every GPU of the replica."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from compiler.capacity.endpoint import endpoint_capacity
from compiler.check.registry import codes_in
from compiler.diagnostics import Category
from tests.helpers.estate import PROJECT_ROOT, run_cli, validate

EXAMPLE = PROJECT_ROOT / "examples" / "llm_inference_service"


def _estate(root: Path, data: int, gpu_memory_gib: int = 80) -> Path:
    shutil.copytree(EXAMPLE / "environments", root / "environments")
    env = root / "environments" / "prod" / "environment.yaml"
    document: dict[str, Any] = yaml.safe_load(env.read_text(encoding="utf-8"))
    document["spec"]["gpu"]["memoryGiB"] = gpu_memory_gib
    env.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    chat = root / "environments" / "prod" / "serving" / "support-chat.yaml"
    document = yaml.safe_load(chat.read_text(encoding="utf-8"))
    document["spec"]["deploymentSpec"]["resources"]["gpus"] = 4
    document["spec"]["deploymentSpec"]["runtime"]["max_input_tokens"] = 1024
    document["spec"]["parallelism"] = {"data": data}
    chat.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return root


def test_weights_are_split_over_one_rank_s_gpus(tmp_path: Path) -> None:
    result = validate(_estate(tmp_path, data=2))
    (env,) = [e for e in result.estate.environments if e.name == "prod"]
    (chat,) = [e for e in env.of_kind("ServingEndpoint") if e.name == "support-chat"]
    capacity = endpoint_capacity(env, chat)
    assert capacity is not None and capacity.gpu_weights is not None
    assert capacity.gpus.value == 4  # per replica, as written
    assert capacity.tensor_parallel == 2
    assert capacity.gpu_weights.gpus == 2
    assert capacity.gpu_weights.weights_bytes_per_gpu == capacity.gpu_weights.weights_bytes / 2


def test_a_model_that_fits_four_gpus_does_not_fit_one_rank_s_gpu(tmp_path: Path) -> None:
    """Llama 3.1 8B in bf16 (about 15 GiB) on 10 GiB GPUs: over four GPUs it fits; four ranks of
    one GPU each hold it whole, which does not."""
    capacity_codes = codes_in(Category.CAPACITY)

    def capacity_errors(root: Path) -> list[str]:
        return [
            d.code
            for d in validate(root).diagnostics
            if d.code in capacity_codes
            and d.severity.value == "error"
            and d.span.file.endswith("support-chat.yaml")
        ]

    assert capacity_errors(_estate(tmp_path / "tensor", data=1, gpu_memory_gib=10)) == []
    assert capacity_errors(_estate(tmp_path / "data", data=4, gpu_memory_gib=10)) != []


def test_explain_names_the_ranks(tmp_path: Path) -> None:
    root = _estate(tmp_path, data=2)
    result = run_cli("explain", "support-chat", "--env", "prod", str(root))
    assert result.exit_code == 0, result.stdout + result.stderr
    (line,) = [line for line in result.stdout.splitlines() if "data-parallel ranks" in line]
    assert line.split()[2] == "2" and "spec.parallelism.data" in line
    assert "15.20 GiB / 2 GPUs = 7.60 GiB per GPU" in result.stdout  # one rank's two GPUs
