"""The trainer, run as a cluster runs it: `llmops render` writes the TrainingJob, the trainer gets
exactly its variables and mounted files, on CPU, with a tiny Llama created locally (random weights,
a tokenizer trained on the sample CSV) standing in for the base model at the Model's storageUri. No
model hub, no network beyond 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.loopback import call, free_port, wait_until
from tests.train.contract import (
    S3_TOOL,
    SAMPLE_CSV,
    TRAIN_PYTHON,
    ensure_train_venv,
    estate,
    rendered_job,
    run_trainer,
)

pytestmark = pytest.mark.slow
CHECK_OUTPUT = Path(__file__).with_name("check_output.py")
STEP_LINE = re.compile(
    r"^step (\d+)/(\d+)  epoch [0-9.]+  loss [0-9.]+  lr [0-9.e+-]+  grad_norm [0-9.]+  "
    r"[0-9.]+ steps/s  [0-9]+ tokens/s$"
)


def _store(tmp_path: Path, tiny_model: Path) -> tuple[Path, Path]:
    """A dataset folder holding the bundled sample CSV, and a model folder holding the tiny
    model."""
    data = tmp_path / "store" / "datasets" / "support" / "v1"
    data.mkdir(parents=True)
    shutil.copy(SAMPLE_CSV, data / SAMPLE_CSV.name)
    model = tmp_path / "store" / "models" / "tiny-llama" / "1"
    shutil.copytree(tiny_model, model)
    return data, model


def _check_output(base: Path, output: Path) -> dict[str, Any]:
    result = subprocess.run(
        [str(TRAIN_PYTHON), str(CHECK_OUTPUT), str(base), str(output), str(SAMPLE_CSV)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return loaded


def test_lora_sft_on_the_sample_csv_learns_and_writes_an_adapter_with_its_metadata(
    tmp_path: Path, tiny_model: Path
) -> None:
    data, model = _store(tmp_path, tiny_model)
    output = tmp_path / "store" / "models" / "support-sft" / "1"
    hyperparameters = {
        "learning_rate": 0.01,
        "batch_size": 4,
        "max_steps": 30,
        "logging_steps": 5,
        "seed": 7,
    }
    root = estate(
        tmp_path / "estate",
        dataset_uri=f"file://{data}/",
        model_uri=f"file://{model}/",
        output_uri=f"file://{output}/",
        hyperparameters=hyperparameters,
    )
    job = rendered_job(root)
    result = run_trainer(job, tmp_path / "mount")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and result.stderr.strip() == ""

    # The log: a start summary, one line per logging step (step, epoch, loss, lr, throughput), an
    # end summary.
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"llmops-train: support-sft: SFT (lora) of tiny-llama@1 on support-sample@v1 -> "
        f"file://{output}/"
    )
    steps = [line for line in lines if line.startswith("step ")]
    assert all(STEP_LINE.match(line) for line in steps), steps
    assert [STEP_LINE.match(line).group(1) for line in steps if STEP_LINE.match(line)] == [
        "5",
        "10",
        "15",
        "20",
        "25",
        "30",
    ]
    assert lines[-1].startswith("llmops-train: done in ") and f"to file://{output}/" in lines[-1]

    # The metadata file: what made this adapter, and how training went.
    metadata = json.loads((output / "llmops-training.json").read_text(encoding="utf-8"))
    assert metadata["job"] == {
        "name": "support-sft",
        "digest": job.digest,
        "jobType": "finetune",
        "method": "SFT",
        "finetuningType": "lora",
        "configSha256": hashlib.sha256(job.files["job.json"].encode()).hexdigest(),
    }
    assert metadata["baseModel"] | {"parameters": None} == {
        "id": "tiny-llama@1",
        "storageUri": f"file://{model}/",
        "family": "llama",
        "architecture": "llama",
        "parameters": None,
    }
    assert 150_000 < metadata["baseModel"]["parameters"] < 400_000
    csv_sha = hashlib.sha256(SAMPLE_CSV.read_bytes()).hexdigest()
    assert metadata["dataset"]["files"] == [
        {"path": SAMPLE_CSV.name, "bytes": SAMPLE_CSV.stat().st_size, "sha256": csv_sha}
    ]
    assert metadata["dataset"] | {"files": None} == {
        "id": "support-sample@v1",
        "storageUri": f"file://{data}/",
        "type": "sft_pair",
        "readAs": "instruction",
        "records": 8,
        "files": None,
        "sha256": hashlib.sha256(
            json.dumps([[SAMPLE_CSV.name, csv_sha]], separators=(",", ":")).encode()
        ).hexdigest(),
    }
    assert metadata["hyperparametersGiven"] == json.loads(job.files["hyperparameters.json"])
    assert {name: metadata["hyperparameters"][name] for name in hyperparameters} == hyperparameters
    assert (
        metadata["hyperparameters"]["lora_r"] == 8
        and metadata["hyperparameters"]["max_seq_length"] == 1024
    )
    assert (
        metadata["output"]["kind"] == "adapter"
        and metadata["output"]["chatTemplate"] == "llmops-default"
    )
    assert sorted(path.name for path in output.iterdir()) == sorted(
        [*metadata["output"]["files"], "llmops-training.json"]
    )
    assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json"} <= set(
        metadata["output"]["files"]
    )
    assert metadata["versions"]["torch"] == "2.13.0+cpu" and metadata["device"] == "cpu"

    # The loss went down, and the history is the log's lines.
    history = metadata["lossHistory"]
    assert [point["step"] for point in history] == [5, 10, 15, 20, 25, 30]
    losses = [point["loss"] for point in history]
    assert losses[-1] < losses[0] - 0.2, losses
    assert (
        metadata["metrics"]["firstLoss"] == losses[0]
        and metadata["metrics"]["finalLoss"] == losses[-1]
    )
    assert metadata["metrics"]["steps"] == 30 and metadata["metrics"]["examples"] == 8

    # The adapter loads back onto the base, generates, and fits the data better than the base did.
    loaded = _check_output(model, output)
    assert loaded["kind"] == "adapter" and loaded["newTokens"] > 0
    assert loaded["trainedLoss"] < loaded["baseLoss"] - 0.1, loaded
    adapter_config = json.loads((output / "adapter_config.json").read_text(encoding="utf-8"))
    assert adapter_config["base_model_name_or_path"] == f"file://{model}/"


# -- s3:// through a local S3-compatible server (moto), and the Kubeflow TrainJob backend
# ---------------------------


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    python = ensure_train_venv()
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [str(python), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if process.poll() is not None:
            return True
        try:
            return call("GET", f"{url}/moto-api/", timeout=1).status == 200
        except OSError:
            return False

    try:
        assert wait_until(ready, timeout=60, interval=0.2), "the S3 server did not start"
        assert process.poll() is None, log.read_text()
        yield {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    finally:
        process.terminate()
        process.wait(timeout=10)


def _s3(credentials: dict[str, str], *arguments: str) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **credentials}
    result = subprocess.run(
        [str(TRAIN_PYTHON), str(S3_TOOL), *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_full_fine_tuning_from_and_to_s3_as_a_kubeflow_trainjob(
    tmp_path: Path, tiny_model: Path, s3_server: dict[str, str]
) -> None:
    data, model = _store(tmp_path, tiny_model)
    for bucket in ("datasets", "models"):
        _s3(s3_server, "mkbucket", bucket)
    _s3(s3_server, "put", str(data), "s3://datasets/support/v1/")
    _s3(s3_server, "put", str(model), "s3://models/tiny-llama/1/")
    root = estate(
        tmp_path / "estate",
        dataset_uri="s3://datasets/support/v1/",
        model_uri="s3://models/tiny-llama/1/",
        output_uri=None,
        finetuning_type="full",
        backend="trainjob",
        hyperparameters={
            "learning_rate": 0.003,
            "batch_size": 8,
            "max_steps": 6,
            "logging_steps": 2,
        },
    )
    job = rendered_job(root)
    # no mount: the TrainJob's contract
    assert job.files == {} and "LLMOPS_TRAINING_CONFIG_JSON" in job.env
    # the environment's default
    assert job.env["LLMOPS_OUTPUT_URI"] == "s3://models/trained/support-sft/"
    # An earlier LoRA run wrote an adapter there; someone keeps notes beside it.
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "adapter_model.safetensors").write_bytes(b"old adapter")
    (earlier / "notes.txt").write_text("keep me", encoding="utf-8")
    (earlier / "llmops-training.json").write_text(
        json.dumps(
            {
                "output": {
                    "files": [
                        "adapter_model.safetensors",
                        "../../datasets/support/v1/customer-support-sample.csv",
                    ]
                }
            }
        ),
        encoding="utf-8",
    )
    _s3(s3_server, "put", str(earlier), "s3://models/trained/support-sft/")
    result = run_trainer(job, tmp_path / "mount", extra_env=s3_server)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "llmops-train: removed 1 file(s) an earlier run wrote there: adapter_model.safetensors"
        in result.stdout.splitlines()
    )

    output = tmp_path / "downloaded"
    _s3(s3_server, "get", "s3://models/trained/support-sft/", str(output))
    # no adapter of one run beside another's model
    assert not (output / "adapter_model.safetensors").exists()
    # what llmops did not write stays
    assert (output / "notes.txt").read_text(encoding="utf-8") == "keep me"
    (output / "notes.txt").unlink()
    _s3(s3_server, "get", "s3://datasets/support/v1/", str(tmp_path / "dataset-after"))
    # a listed path outside the output: ignored
    assert (tmp_path / "dataset-after" / SAMPLE_CSV.name).is_file()
    metadata = json.loads((output / "llmops-training.json").read_text(encoding="utf-8"))
    assert metadata["output"]["kind"] == "model" and metadata["job"]["finetuningType"] == "full"
    assert sorted(path.name for path in output.iterdir()) == sorted(
        [*metadata["output"]["files"], "llmops-training.json"]
    )
    assert metadata["job"]["digest"] == job.digest
    assert metadata["dataset"]["storageUri"] == "s3://datasets/support/v1/"
    assert (
        metadata["dataset"]["files"][0]["sha256"]
        == hashlib.sha256(SAMPLE_CSV.read_bytes()).hexdigest()
    )
    assert [point["step"] for point in metadata["lossHistory"]] == [2, 4, 6]
    assert metadata["metrics"]["trainableParameters"] == metadata["baseModel"]["parameters"]
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(
        metadata["output"]["files"]
    )
    loaded = _check_output(model, output)
    assert loaded["kind"] == "model" and loaded["newTokens"] > 0
    assert loaded["trainedLoss"] < loaded["baseLoss"], loaded


def test_an_s3_dataset_that_is_not_there_is_one_line(
    tmp_path: Path, s3_server: dict[str, str]
) -> None:
    root = estate(
        tmp_path / "estate",
        dataset_uri="s3://no-such-bucket/support/v1/",
        model_uri="s3://models/tiny-llama/1/",
        output_uri=None,
        hyperparameters={"max_steps": 1},
    )
    result = run_trainer(rendered_job(root), tmp_path / "mount", extra_env=s3_server)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "llmops-train: error: s3://no-such-bucket/support/v1/: not found (nothing "
        "exists at this URI)"
    )
