"""The metadata file written beside the trained weights (llmops-training.json): how this model was
made.

It names the job (and the digest of the rendered Job that ran, LLMOPS_JOB_DIGEST), the base model,
the dataset with the SHA-256 of the exact files read, every hyperparameter the run used, the final
metrics and the loss history, and the versions of the software. Lineage checks compare a Model's
`trainedBy` with these facts.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import platform
from typing import TYPE_CHECKING, Any

from compiler.target.training_contract import METADATA_SCHEMA_VERSION
from llmops.train.hyperparameters import Hyperparameters
from llmops.train.records import DatasetFiles
from llmops.train.request import TrainingRequest

if TYPE_CHECKING:
    from llmops.train.sft import Outcome

VERSIONED = (
    "llmops",
    "torch",
    "transformers",
    "peft",
    "tokenizers",
    "accelerate",
    "safetensors",
    "fsspec",
    "s3fs",
)


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    if found["llmops"] is None:  # run from a source tree (the tests), not an installed wheel
        from llmops import __version__

        found["llmops"] = __version__
    return found


def build_metadata(
    request: TrainingRequest,
    settings: Hyperparameters,
    data: DatasetFiles,
    chosen_format: str,
    outcome: Outcome,
    history: list[dict[str, Any]],
    started: datetime.datetime,
) -> dict[str, Any]:
    """The document, from the request, the data read and what training produced."""
    return {
        "schemaVersion": METADATA_SCHEMA_VERSION,
        "job": {
            "name": request.job,
            "digest": request.job_digest,
            "configSha256": request.config_sha256,
            "jobType": request.job_type,
            "method": request.method,
            "finetuningType": request.finetuning_type or "full",
        },
        "baseModel": {
            "id": request.base_model_id,
            "storageUri": request.base_model_uri,
            "family": request.base_model_family,
            **outcome.base,
        },
        "dataset": {
            "id": request.dataset_id,
            "storageUri": request.dataset_uri,
            "type": request.dataset_type,
            "readAs": chosen_format,
            "records": len(data.records),
            "sha256": data.digest(),
            "files": data.files,
        },
        "output": {
            "storageUri": request.output_uri,
            "kind": outcome.kind,
            "files": outcome.files,
            "chatTemplate": outcome.chat_template,
        },
        "hyperparameters": settings.as_json(),
        "hyperparametersGiven": dict(request.hyperparameters),
        "metrics": outcome.metrics,
        "lossHistory": history,
        "device": outcome.device,
        "versions": versions(),
        "startedAt": started.isoformat(timespec="seconds"),
        "finishedAt": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
