"""Run the trainer the way a cluster would: from the objects `llmops render` writes for a
TrainingJob.

`rendered_job` validates and renders a small estate and returns the trainer container's environment
variables and the ConfigMap's files; `run_trainer` writes those files where the Job would mount them
(a temporary folder stands in for /etc/llmops/training: the one change, made to the variables that
point into the mount) and runs `python -m llmops.train` from .venv-train with exactly those
variables, plus PATH and the storage credentials a service account would supply.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from compiler.render.estate import render_estate
from compiler.target.training_contract import CONFIG_MOUNT
from tests.helpers.estate import PROJECT_ROOT, validate, write_files

TRAIN_PYTHON = PROJECT_ROOT / ".venv-train" / "bin" / "python"
SAMPLE_CSV = PROJECT_ROOT / "examples" / "datasets" / "customer-support-sample.csv"
MAKE_TINY_MODEL = Path(__file__).with_name("make_tiny_model.py")


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


@dataclass
class RenderedJob:
    env: dict[str, str]
    files: dict[str, str]  # the ConfigMap's data: job.json, hyperparameters.json
    digest: str


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
    objects = render_estate(result.estate).groups["dev"]
    jobs = [obj for obj in objects if obj["kind"] in ("Job", "TrainJob")]
    assert len(jobs) == 1, jobs
    job = jobs[0]
    digest = job["metadata"]["annotations"]["llmops.io/content-sha256"]
    if job["kind"] == "TrainJob":  # no mount: the configuration travels in the variables
        return RenderedJob(
            {variable["name"]: variable["value"] for variable in job["spec"]["trainer"]["env"]},
            {},
            digest,
        )
    (volume,) = job["spec"]["template"]["spec"]["volumes"]
    (config_map,) = [
        obj
        for obj in objects
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == volume["configMap"]["name"]
    ]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = {variable["name"]: variable["value"] for variable in container["env"]}
    return RenderedJob(env, dict(config_map["data"]), digest)


def run_trainer(
    job: RenderedJob, mount: Path, *, extra_env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    mount.mkdir(parents=True, exist_ok=True)
    for name, text in job.files.items():
        (mount / name).write_text(text, encoding="utf-8")
    env = {
        name: value.replace(CONFIG_MOUNT, str(mount), 1)
        if value.startswith(CONFIG_MOUNT + "/")
        else value
        for name, value in job.env.items()
    }
    env.update(
        {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(PROJECT_ROOT),
            "HOME": str(mount),
            **(extra_env or {}),
        }
    )
    return subprocess.run(
        [str(ensure_train_venv()), "-m", "llmops.train"],
        env=env,
        cwd=mount,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
