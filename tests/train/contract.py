"""Run the trainer the way a cluster would: from the objects `llmops render` writes for a
TrainingJob.

`rendered_job` validates and renders a small estate and returns the trainer container's environment
variables and the ConfigMap's files; `run_trainer` writes those files where the Job would mount them
(a temporary folder stands in for /etc/llmops/training: the one change, made to the variables that
point into the mount) and runs `python -m llmops.train` from .venv-train with exactly those
variables, plus PATH and the storage credentials a service account would supply. Both are
examples/sandbox/run_rendered.py's, which the walkthrough and a user run by hand.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from compiler.render.estate import render_estate
from examples.sandbox import run_rendered
from examples.sandbox.run_rendered import TRAIN_PYTHON, trainer_contract
from examples.sandbox.run_rendered import TrainerContract as RenderedJob
from tests.helpers.estate import PROJECT_ROOT, validate, write_files

SAMPLE_CSV = PROJECT_ROOT / "examples" / "datasets" / "customer-support-sample.csv"
SANDBOX = PROJECT_ROOT / "examples" / "sandbox"
MAKE_TINY_MODEL = SANDBOX / "make_tiny_model.py"
S3_TOOL = SANDBOX / "s3_tool.py"


def ensure_train_venv() -> Path:
    """`make train-venv` is idempotent: it installs only when the virtualenv is missing or its locks
    changed."""
    subprocess.run(["make", "-s", "train-venv"], cwd=PROJECT_ROOT, check=True, timeout=1800)
    return TRAIN_PYTHON


def make_tiny_model(folder: Path, data: Path = SAMPLE_CSV) -> Path:
    subprocess.run(
        [str(ensure_train_venv()), str(MAKE_TINY_MODEL), str(folder), str(data)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return folder


def _manifest(kind: str, name: str, spec: dict[str, Any]) -> str:
    return yaml.safe_dump(
        {"apiVersion": "llmops.io/v1", "kind": kind, "metadata": {"name": name}, "spec": spec},
        sort_keys=False,
    )


def estate(
    root: Path,
    *,
    dataset_uri: str,
    model_uri: str,
    output_uri: str | None,
    hyperparameters: dict[str, Any],
    finetuning_type: str | None = "lora",
    dataset_type: str = "sft_pair",
    read_as: str = "instruction",
    job_type: str = "SFT",
    backend: str = "job",
) -> Path:
    """A dev environment with one dataset, one base model and one training job, as a team would
    commit them."""
    inner: dict[str, Any] = {
        "job_type": job_type,
        "dataset_type": read_as,
        "hyperparameters": hyperparameters,
    }
    if finetuning_type:
        inner["finetuning_type"] = finetuning_type
    job: dict[str, Any] = {
        "modelId": "tiny-llama@1",
        "datasetId": "support-sample@v1",
        "jobType": "finetune",
        "resourceProfile": {"cpuCores": 2, "memory": "2Gi", "maxDuration": 10},
        "trainJobSpec": inner,
    }
    if output_uri:
        job["output"] = {"storageUri": output_uri}
    return write_files(
        root,
        {
            "environments/dev/environment.yaml": _manifest(
                "Environment", "dev", {"gpu": {"allowed": False}, "training": {"backend": backend}}
            ),
            "environments/dev/catalog/dataset.yaml": _manifest(
                "Dataset",
                "support-sample",
                {"version": "v1", "type": dataset_type, "storage_uri": dataset_uri},
            ),
            "environments/dev/catalog/model.yaml": _manifest(
                "Model",
                "tiny-llama",
                {
                    "version": "1",
                    "type": "base",
                    "storageUri": model_uri,
                    "metadata": {
                        "parameters": "200K",
                        "model_family": "llama",
                        "context_length": 512,
                    },
                },
            ),
            "environments/dev/training/support-sft.yaml": _manifest(
                "TrainingJob", "support-sft", job
            ),
        },
    )


def rendered_job(root: Path) -> RenderedJob:
    """The trainer container's variables and mounted files, from a batch/v1 Job or a Kubeflow
    TrainJob."""
    result = validate(root, "dev")
    errors = [
        f"{d.span.file}:{d.span.line}: {d.code} {d.message}"
        for d in result.diagnostics
        if d.severity.value == "error"
    ]
    assert errors == []
    return trainer_contract(render_estate(result.estate).groups["dev"], None)


def run_trainer(
    job: RenderedJob, mount: Path, *, extra_env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    ensure_train_venv()
    return run_rendered.run_trainer(job, mount, extra_env=extra_env, timeout=timeout)
