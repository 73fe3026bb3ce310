"""What a training job's trainer reads: the request resolved (job.json) and its hyperparameters,
as the files its ConfigMap mounts. Apart from the renderer (compiler/render/training.py, which
uses Jinja) so that K009 measures the same files without the templates."""

from __future__ import annotations

from typing import Any

from compiler.render.json_text import indented_json
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.lineage import job_output_uri
from compiler.resolve.manifest import Manifest
from compiler.spec.dataset import DatasetSpec
from compiler.spec.model import ModelSpec
from compiler.spec.training import TrainingJobSpec
from compiler.target.training_contract import HYPERPARAMETERS_FILE, JOB_FILE


def job_gpus(job: Manifest[TrainingJobSpec]) -> int:
    inner = job.spec.train_job_spec
    return inner.resources.gpus if inner is not None else 0


def _job_config(
    job: Manifest[TrainingJobSpec],
    model: Manifest[ModelSpec],
    dataset: Manifest[DatasetSpec],
    output: str,
) -> dict[str, Any]:
    """What the trainer reads from its mounted config: the whole request, resolved."""
    spec = job.spec
    inner = spec.train_job_spec
    config: dict[str, Any] = {
        "job": job.name,
        "jobType": spec.job_type,
        "method": inner.job_type if inner else "SFT",
        "baseModel": {
            "id": f"{model.name}@{model.version}",
            "storageUri": model.spec.storage_uri,
            "family": model.spec.metadata.model_family,
        },
        "dataset": {
            "id": f"{dataset.name}@{dataset.version}",
            "storageUri": dataset.spec.storage_uri,
            "type": dataset.spec.type,
            "readAs": inner.dataset_type if inner else None,
        },
        "hyperparameters": dict(inner.hyperparameters) if inner else {},
        "output": {"storageUri": output},
        "gpus": job_gpus(job),
    }
    # only when set: other jobs keep their hash
    if inner is not None and inner.finetuning_type is not None:
        config["finetuningType"] = inner.finetuning_type
    return config


class TrainerConfig:
    """The trainer's configuration and, made when first asked, the files it is mounted as (its
    indented JSON)."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self._files: dict[str, str] | None = None

    def files(self) -> dict[str, str]:
        if self._files is None:
            self._files = {
                JOB_FILE: indented_json(self.config) + "\n",
                HYPERPARAMETERS_FILE: indented_json(self.config["hyperparameters"]) + "\n",
            }
        return self._files


def trainer_config(
    env: ResolvedEnvironment,
    job: Manifest[TrainingJobSpec],
    model: Manifest[ModelSpec],
    dataset: Manifest[DatasetSpec],
) -> TrainerConfig:
    """The trainer's configuration. It depends on the three manifests and the output URI only, so
    a job from `_shared` gets it (and its files) once per output, not once per environment
    (read-only: the environments share it); K009 measures the same files."""
    output = job_output_uri(env, job)
    key = ("render-training-config", job, model, dataset, output)
    return env.remember(key, lambda: TrainerConfig(_job_config(job, model, dataset, output)))
