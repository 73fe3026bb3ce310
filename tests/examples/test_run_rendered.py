"""examples/sandbox/run_rendered.py reads what `llmops render` wrote (the golden renders here) and
runs exactly that: the trainer with the Job's variables and files, the CPU model server with the
InferenceService's args; what it cannot run honestly it refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from examples.sandbox.run_rendered import (
    MODEL_SERVER,
    SERVE_PYTHON,
    NotRunnable,
    inference_service,
    read_rendered,
    server_command,
    trainer_contract,
    trainer_environment,
)
from tests.helpers.estate import PROJECT_ROOT

GOLDEN = PROJECT_ROOT / "tests" / "golden"


def test_the_trainer_gets_the_jobs_variables_and_its_config_maps_files(tmp_path: Path) -> None:
    contract = trainer_contract(read_rendered(GOLDEN / "render" / "dev"), "customer-support-sft")
    assert contract.env["LLMOPS_DATASET_URI"] == "s3://datasets/customer-support-dataset/v1.0/"
    assert contract.digest == contract.env["LLMOPS_JOB_DIGEST"]
    assert json.loads(contract.files["job.json"])["job"] == "customer-support-sft"
    env = trainer_environment(contract, tmp_path / "mount")
    # the mount is the one change: every other variable is the Job's own
    assert env["LLMOPS_TRAINING_CONFIG"] == str(tmp_path / "mount" / "job.json")
    assert (tmp_path / "mount" / "hyperparameters.json").read_text(encoding="utf-8") == (
        contract.files["hyperparameters.json"]
    )
    for name, value in contract.env.items():
        if name not in ("LLMOPS_TRAINING_CONFIG", "LLMOPS_HYPERPARAMETERS"):
            assert env[name] == value


def test_a_job_that_was_not_rendered_is_refused_naming_those_that_were() -> None:
    with pytest.raises(NotRunnable, match=r"customer-support-sft"):
        trainer_contract(read_rendered(GOLDEN / "render" / "dev"), "support-sft")


def test_the_model_server_gets_the_inference_services_args_exactly(tmp_path: Path) -> None:
    service = inference_service(read_rendered(GOLDEN / "render" / "dev"), "example-model")
    assert server_command(service, tmp_path, 8081) == [
        str(SERVE_PYTHON),
        str(MODEL_SERVER),
        "--model_name=example-model-predictor",
        "--model_name=example-model",
        "--backend=huggingface",
        "--max_model_len=5120",
        "--dtype=bfloat16",
        f"--model_dir={tmp_path}",
        "--http_port=8081",
    ]


def test_lora_adapters_are_not_served_on_cpu(tmp_path: Path) -> None:
    """The adapter example renders storageUris and vLLM's LoRA arguments: the transformers server
    cannot honour them, so it is not started as if it could."""
    service = inference_service(read_rendered(GOLDEN / "adapters" / "dev"), "support-chat")
    with pytest.raises(NotRunnable, match="LoRA"):
        server_command(service, tmp_path, 8081)
