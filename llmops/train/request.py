"""The training request, read from exactly what the rendered Job gives its container.

A batch/v1 Job mounts job.json and hyperparameters.json and names them in LLMOPS_TRAINING_CONFIG and
LLMOPS_HYPERPARAMETERS; a Kubeflow TrainJob has no mount and carries job.json's text in
LLMOPS_TRAINING_CONFIG_JSON (its hyperparameters are inside). The variables that repeat job.json's
facts must agree with it: a disagreement means a hand-edited Job, which is refused rather than
guessed at.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler.load.strict_json import JsonRefused, loads
from compiler.target.training_contract import (
    ENV_BASE_MODEL_URI,
    ENV_DATASET_URI,
    ENV_HYPERPARAMETERS,
    ENV_JOB_DIGEST,
    ENV_OUTPUT_URI,
    ENV_TRAINING_CONFIG,
    ENV_TRAINING_CONFIG_JSON,
    ENV_TRAINING_METHOD,
)
from llmops.train.errors import ContractError


@dataclass(frozen=True)
class TrainingRequest:
    job: str
    job_digest: str | None
    job_type: str
    method: str  # SFT, DPO, RLHF, PRETRAIN
    finetuning_type: str | None  # full, lora, qlora; None: not stated (full fine-tuning)
    gpus: int
    base_model_id: str
    base_model_uri: str
    base_model_family: str | None
    dataset_id: str
    dataset_uri: str
    dataset_type: str
    dataset_read_as: str | None
    output_uri: str
    hyperparameters: Mapping[str, Any]
    config_sha256: str  # of job.json's text as the trainer read it


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ContractError(
            f"{name} is not set: run the trainer from a Job that `llmops render` wrote "
            "(README: Training)"
        )
    return value


def _read_text(path: str, variable: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContractError(
            f"{variable}={path}: no such file (is the job's ConfigMap mounted?)"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ContractError(f"{variable}={path}: cannot read it: {error}") from None


def _json_object(text: str, where: str) -> dict[str, Any]:
    try:
        value = loads(text)
    except JsonRefused as refused:
        at = f" (line {refused.line}, column {refused.column})" if refused.line else ""
        raise ContractError(f"{where}: {refused.message}{at}") from None
    if not isinstance(value, dict):
        raise ContractError(f"{where}: expected a JSON object, found {type(value).__name__}")
    return value


def _field(config: Mapping[str, Any], where: str, *path: str, optional: bool = False) -> Any:
    value: Any = config
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            if optional:
                return None
            raise ContractError(f"{where}: `{'.'.join(path)}` is missing")
        value = value[key]
    return value


def _string(config: Mapping[str, Any], where: str, *path: str, optional: bool = False) -> Any:
    value = _field(config, where, *path, optional=optional)
    if value is not None and not isinstance(value, str):
        raise ContractError(f"{where}: `{'.'.join(path)}` must be a string")
    return value


def _agree(variable: str, environ: Mapping[str, str], value: str, where: str, key: str) -> str:
    given = environ.get(variable)
    if given is not None and given != value:
        raise ContractError(
            f"{variable}={given} disagrees with {where} {key}={value}: the Job was edited by hand; "
            "render it again with `llmops render`"
        )
    return value


def read_request(environ: Mapping[str, str]) -> TrainingRequest:
    """The request the rendered Job describes (ContractError when the Job does not follow the
    contract)."""
    if environ.get(ENV_TRAINING_CONFIG_JSON):
        where = ENV_TRAINING_CONFIG_JSON
        text = environ[ENV_TRAINING_CONFIG_JSON]
    else:
        where = _required(environ, ENV_TRAINING_CONFIG)
        text = _read_text(where, ENV_TRAINING_CONFIG)
    config = _json_object(text, where)
    hyperparameters = _field(config, where, "hyperparameters", optional=True) or {}
    if environ.get(ENV_HYPERPARAMETERS):
        path = environ[ENV_HYPERPARAMETERS]
        hyperparameters = _json_object(_read_text(path, ENV_HYPERPARAMETERS), path)
    if not isinstance(hyperparameters, dict):
        raise ContractError(f"{where}: `hyperparameters` must be a JSON object")
    gpus = _field(config, where, "gpus", optional=True) or 0
    if not isinstance(gpus, int) or isinstance(gpus, bool) or gpus < 0:
        raise ContractError(f"{where}: `gpus` must be a whole number of GPUs")
    output = _string(config, where, "output", "storageUri", optional=True)
    if output is None:
        output = environ.get(ENV_OUTPUT_URI, "").strip()
    else:
        _agree(ENV_OUTPUT_URI, environ, output, where, "output.storageUri")
    if not output:
        raise ContractError(
            f"{ENV_OUTPUT_URI} is not set and {where} names no output.storageUri: the trainer has "
            "nowhere to write; render the Job again with this llmops"
        )
    return TrainingRequest(
        job=_string(config, where, "job"),
        job_digest=environ.get(ENV_JOB_DIGEST) or None,
        job_type=_string(config, where, "jobType", optional=True) or "finetune",
        method=_agree(
            ENV_TRAINING_METHOD, environ, _string(config, where, "method"), where, "method"
        ),
        finetuning_type=_string(config, where, "finetuningType", optional=True),
        gpus=gpus,
        base_model_id=_string(config, where, "baseModel", "id"),
        base_model_uri=_agree(
            ENV_BASE_MODEL_URI,
            environ,
            _string(config, where, "baseModel", "storageUri"),
            where,
            "baseModel.storageUri",
        ),
        base_model_family=_string(config, where, "baseModel", "family", optional=True),
        dataset_id=_string(config, where, "dataset", "id"),
        dataset_uri=_agree(
            ENV_DATASET_URI,
            environ,
            _string(config, where, "dataset", "storageUri"),
            where,
            "dataset.storageUri",
        ),
        dataset_type=_string(config, where, "dataset", "type"),
        dataset_read_as=_string(config, where, "dataset", "readAs", optional=True),
        output_uri=output,
        hyperparameters=hyperparameters,
        config_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )
