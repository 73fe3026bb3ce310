"""M010: a job that runs llmops's own trainer sets only hyperparameters that trainer takes (it
refuses the job at start otherwise); a job with its own trainer may set any."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers.estate import copy_bundled_estate, validate

JOB = "environments/dev/training/customer-support-sft.yaml"
SETTINGS = "environments/dev/environment.yaml"


def _m010(tmp_path: Path, hyperparameters: dict[str, Any], **changes: Any) -> list[tuple[int, str]]:
    root = copy_bundled_estate(tmp_path)
    job = yaml.safe_load((root / JOB).read_text())
    job["spec"]["trainJobSpec"]["hyperparameters"] = hyperparameters
    job["spec"].update(changes.get("job", {}))
    (root / JOB).write_text(yaml.safe_dump(job, sort_keys=False))
    if "training" in changes:
        settings = yaml.safe_load((root / SETTINGS).read_text())
        settings["spec"]["training"] = changes["training"]
        (root / SETTINGS).write_text(yaml.safe_dump(settings, sort_keys=False))
    return [(d.span.line, d.message) for d in validate(root, "dev").diagnostics if d.code == "M010"]


@pytest.mark.parametrize(
    ("hyperparameters", "said"),
    [
        ({"lr": 2e-5}, "`lr` is not one llmops-train honours"),
        ({"num_epochs": 1, "train_on_prompt": 1}, "`train_on_prompt` must be true or false"),
        ({"lora_target_modules": " , "}, "`lora_target_modules` names no module"),
        ({"lr_scheduler_type": "cosine_annealing"}, "`lr_scheduler_type` must be one of"),
        ({"warmup_ratio": 1}, "`warmup_ratio` must be below 1"),
    ],
)
def test_what_the_trainer_would_refuse_is_reported_at_its_key(
    tmp_path: Path, hyperparameters: dict[str, Any], said: str
) -> None:
    ((_, message),) = _m010(tmp_path, hyperparameters)
    assert said in message, message


@pytest.mark.parametrize(
    "changes",
    [
        {"job": {"image": "registry.example.com/team/trainer:2"}},
        {"job": {"command": ["python", "train.py"]}},
        {"training": {"image": "registry.example.com/team/trainer:2"}},
    ],
)
def test_a_job_with_its_own_trainer_may_set_any(tmp_path: Path, changes: dict[str, Any]) -> None:
    assert _m010(tmp_path, {"lr": 2e-5}, **changes) == []


@pytest.mark.parametrize(
    "changes",
    [
        {"job": {"image": "registry.example.com/team/trainer:2", "command": ["llmops-train"]}},
        # a TrainJob always runs llmops-train: the runtime's command would run otherwise
        {"training": {"backend": "trainjob", "image": "registry.example.com/team/trainer:2"}},
    ],
)
def test_a_job_naming_llmops_train_is_held_to_it(tmp_path: Path, changes: dict[str, Any]) -> None:
    assert len(_m010(tmp_path, {"lr": 2e-5}, **changes)) == 1
