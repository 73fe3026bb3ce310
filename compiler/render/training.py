"""TrainingJob -> batch/v1 Job (+ its hyperparameters as an immutable ConfigMap), or a Kubeflow
TrainJob.

A Job's pod template is immutable, so the name carries a hash of everything the Job runs: a changed
spec becomes a new Job instead of a failed sync. No `ttlSecondsAfterFinished`: a Job that deleted
itself would look Missing to Argo CD, which would create it again and retrain, forever.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from compiler.render.context import (
    RenderContext,
    SourceFacts,
    env_variable,
    labels_for,
    metadata_for,
    source_facts,
)
from compiler.render.kserve import gpu_tolerations
from compiler.render.remembered import remembered_objects
from compiler.render.templating import render_template
from compiler.render.trainer_config import job_gpus, trainer_config
from compiler.resolve.manifest import Manifest
from compiler.spec.dataset import DatasetSpec
from compiler.spec.model import ModelSpec
from compiler.spec.training import TrainingJobSpec
from compiler.target import naming
from compiler.target.pod_resources import TRAINING_DEFAULT_RESOURCES
from compiler.target.training_contract import (
    CONFIG_MOUNT,
    ENV_BASE_MODEL_URI,
    ENV_DATASET_URI,
    ENV_HYPERPARAMETERS,
    ENV_JOB_DIGEST,
    ENV_OUTPUT_URI,
    ENV_TRAINING_CONFIG,
    ENV_TRAINING_CONFIG_JSON,
    ENV_TRAINING_METHOD,
    HYPERPARAMETERS_FILE,
    JOB_FILE,
    TRAINER_COMMAND,
)

DEFAULT_RESOURCES = TRAINING_DEFAULT_RESOURCES
BACKOFF_LIMIT = 2


def cpu_quantity(cores: int | float) -> str:
    """Kubernetes CPU as a string: `4`, or millicores for fractions (`0.5` -> `500m`); never a
    float."""
    if isinstance(cores, int) or cores.is_integer():
        return str(int(cores))
    return f"{round(cores * 1000)}m"


def _resources(ctx: RenderContext, job: Manifest[TrainingJobSpec]) -> dict[str, dict[str, str]]:
    profile = job.spec.resource_profile
    amounts = dict(DEFAULT_RESOURCES)
    if profile is not None:
        amounts = {"cpu": cpu_quantity(profile.cpu_cores), "memory": profile.memory}
    if job_gpus(job) > 0:
        amounts[ctx.env.settings.gpu.resource_name] = str(job_gpus(job))
    return {"requests": dict(amounts), "limits": dict(amounts)}


def _environment_variables(config: dict[str, Any]) -> list[dict[str, str]]:
    """The contract of compiler/training_contract.py; the job digest is added once it is known."""
    return [
        env_variable(ENV_BASE_MODEL_URI, config["baseModel"]["storageUri"]),
        env_variable(ENV_DATASET_URI, config["dataset"]["storageUri"]),
        env_variable(ENV_TRAINING_METHOD, config["method"]),
        env_variable(ENV_TRAINING_CONFIG, f"{CONFIG_MOUNT}/{JOB_FILE}"),
        env_variable(ENV_HYPERPARAMETERS, f"{CONFIG_MOUNT}/{HYPERPARAMETERS_FILE}"),
        env_variable(ENV_OUTPUT_URI, config["output"]["storageUri"]),
    ]


def content_hash(*parts: Any) -> str:
    canonical = json.dumps(
        parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def render_training_job(
    ctx: RenderContext,
    job: Manifest[TrainingJobSpec],
    model: Manifest[ModelSpec],
    dataset: Manifest[DatasetSpec],
) -> list[dict[str, Any]]:
    """The job's objects, made from `TrainingInputs` alone, so a job whose inputs are those of a
    run before gets that run's objects (`remembered_objects`)."""
    settings = ctx.env.settings
    trainer = trainer_config(ctx.env, job, model, dataset)
    command = list(job.spec.command) if job.spec.command else []
    if not command and settings.training.backend == "trainjob":
        # not the runtime's own command: the same trainer as a batch/v1 Job
        command = list(TRAINER_COMMAND)
    inputs: TrainingInputs = (
        settings.training.backend,
        trainer.config,
        job.spec.image or settings.training.image,
        command,
        _resources(ctx, job),
        dict(settings.gpu.node_selector) if job_gpus(job) > 0 else {},
        gpu_tolerations(ctx) if job_gpus(job) > 0 else [],
        job.spec.resource_profile.max_duration * 60 if job.spec.resource_profile else None,
        settings.service_account_name,
        settings.training.runtime,
        ctx.namespace,
        ctx.name,
        source_facts(job),
        job.name,
        model.name,
        dataset.name,
    )
    return remembered_objects(
        "training job", inputs, lambda: _training_objects(inputs, trainer.files)
    )


# Everything a training job's objects are made of, as plain values: the backend, the trainer's
# configuration, image, command, resources, node selector, tolerations, deadline, service account,
# TrainJob runtime, namespace, environment, the job's own labels, annotations and file, and the
# names of the job, its model and its dataset.
TrainingInputs = tuple[
    str,
    dict[str, Any],
    str,
    list[str],
    dict[str, dict[str, str]],
    dict[str, str],
    list[dict[str, str]],
    int | None,
    str | None,
    str | None,
    str,
    str,
    SourceFacts,
    str,
    str,
    str,
]


def _training_objects(
    inputs: TrainingInputs, files_of: Callable[[], dict[str, str]]
) -> list[dict[str, Any]]:
    """The objects of a training job from its inputs alone (``files_of``: the indented JSON of its
    configuration, made once per run and configuration)."""
    (
        backend,
        config,
        image,
        command,
        resources,
        node_selector,
        tolerations,
        deadline,
        service_account,
        runtime,
        namespace,
        environment,
        source,
        job_name,
        model_name,
        dataset_name,
    ) = inputs
    # the first nine inputs, then the runtime only where it runs the job
    digest = content_hash(*inputs[:9], runtime if backend == "trainjob" else None)
    name = naming.training_job_name(job_name, digest)
    labels = {"training-job": job_name, "model": model_name, "dataset": dataset_name}
    annotations = {"llmops.io/content-sha256": digest}

    def metadata(
        kind: str, object_name: str, annotations: dict[str, str] | None = None
    ) -> dict[str, Any]:
        return metadata_for(
            kind,
            object_name,
            namespace=namespace,
            environment=environment,
            source=source,
            labels=labels,
            annotations=annotations,
        )

    # The digest covers everything the Job runs; the trainer records it in its metadata file
    # (llmops-training.json).
    environment_variables = [
        *_environment_variables(config),
        env_variable(ENV_JOB_DIGEST, digest),
    ]
    if backend == "trainjob":
        # Trainer pods get no ConfigMap mount: the configuration travels as environment variables.
        mounted = {ENV_TRAINING_CONFIG, ENV_HYPERPARAMETERS}
        environment_variables = [
            *(variable for variable in environment_variables if variable["name"] not in mounted),
            env_variable(ENV_TRAINING_CONFIG_JSON, files_of()[JOB_FILE]),
        ]
        return [
            render_template(
                "training/trainjob.json.j2",
                metadata=metadata("TrainJob", name, annotations=annotations),
                runtime=runtime,
                image=image,
                command=command,
                env=environment_variables,
                resources=resources,
                deadline=deadline,
            )
        ]
    config_name = f"{name}-config"
    config_map = render_template(
        "training/configmap.json.j2",
        metadata=metadata("ConfigMap", config_name),
        files=files_of(),
    )
    job_object = render_template(
        "training/job.json.j2",
        metadata=metadata("Job", name, annotations=annotations),
        pod_labels=labels_for(environment, source, labels),
        deadline=deadline,
        backoff_limit=BACKOFF_LIMIT,
        node_selector=node_selector,
        tolerations=tolerations,
        service_account=service_account,
        image=image,
        command=command,
        env=environment_variables,
        resources=resources,
        config_name=config_name,
        mount=CONFIG_MOUNT,
    )
    return [config_map, job_object]
