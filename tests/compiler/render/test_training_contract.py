"""The rendered training Job carries the trainer's whole contract: where to read, where to write,
which job.

The trainer (llmops/train/) reads exactly these variables and files; tests/train runs it with them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler.render.estate import render_estate
from compiler.target.training_contract import TRAINER_COMMAND
from tests.helpers.estate import copy_bundled_estate, validate

JOB = "environments/dev/training/customer-support-sft.yaml"
SETTINGS = "environments/dev/environment.yaml"


def _edit(root: Path, relative: str, change: Any) -> None:
    path = root / relative
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def _rendered(root: Path, kind: str) -> list[dict[str, Any]]:
    result = validate(root, "dev")
    assert [d.code for d in result.diagnostics if d.severity.value == "error"] == []
    return [obj for obj in render_estate(result.estate).groups["dev"] if obj["kind"] == kind]


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {variable["name"]: variable["value"] for variable in container["env"]}


def _job_and_config(root: Path) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    (job,) = _rendered(root, "Job")
    (config_map,) = [
        obj
        for obj in _rendered(root, "ConfigMap")
        if obj["metadata"]["name"].endswith("-config")
        and obj["metadata"]["name"] != "llmops-proxy-config"
    ]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    return job, _env(container), json.loads(config_map["data"]["job.json"])


def test_the_default_output_is_the_environments_output_uri_plus_the_job_name(
    tmp_path: Path,
) -> None:
    root = copy_bundled_estate(tmp_path)
    job, env, config = _job_and_config(root)
    assert (
        env["LLMOPS_OUTPUT_URI"]
        == config["output"]["storageUri"]
        == "s3://models/trained/customer-support-sft/"
    )
    assert env["LLMOPS_JOB_DIGEST"] == job["metadata"]["annotations"]["llmops.io/content-sha256"]
    assert job["metadata"]["name"].endswith("-" + env["LLMOPS_JOB_DIGEST"][:8])
    assert config["gpus"] == 0


def test_an_output_written_in_the_job_or_the_environment_is_used_and_changes_the_job(
    tmp_path: Path,
) -> None:
    root = copy_bundled_estate(tmp_path)
    before, _, _ = _job_and_config(root)
    _edit(
        root,
        SETTINGS,
        lambda doc: doc["spec"].update(training={"outputUri": "gs://team-models/runs"}),
    )
    job, env, config = _job_and_config(root)
    assert env["LLMOPS_OUTPUT_URI"] == "gs://team-models/runs/customer-support-sft/"
    # a new output is a new Job, not an edited one
    assert job["metadata"]["name"] != before["metadata"]["name"]
    _edit(
        root,
        JOB,
        lambda doc: doc["spec"].update(output={"storageUri": "s3://models/support-bot/1.0/"}),
    )
    _, env, config = _job_and_config(root)
    assert (
        env["LLMOPS_OUTPUT_URI"] == config["output"]["storageUri"] == "s3://models/support-bot/1.0/"
    )


def test_an_image_registry_moves_the_default_trainer_and_proxy_images_only(tmp_path: Path) -> None:
    root = copy_bundled_estate(tmp_path)
    _edit(
        root,
        SETTINGS,
        lambda doc: doc["spec"].update(imageRegistry="registry.example.com:5000/mirror/llmops"),
    )
    (job,) = _rendered(root, "Job")
    (proxy,) = [
        obj for obj in _rendered(root, "Deployment") if obj["metadata"]["name"] == "llmops-proxy"
    ]
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "registry.example.com:5000/mirror/llmops/trainer:0.1.0"
    )
    assert proxy["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "registry.example.com:5000/mirror/llmops/llmops:0.1.0"
    )
    _edit(
        root,
        SETTINGS,
        lambda doc: doc["spec"].update(training={"image": "example.org/own-trainer:3"}),
    )
    (job,) = _rendered(root, "Job")
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == "example.org/own-trainer:3"


@pytest.mark.parametrize(
    "registry", ["https://registry.example.com", "Registry.example.com/UPPER", "a b"]
)
def test_an_image_registry_that_is_no_image_reference_is_refused(
    tmp_path: Path, registry: str
) -> None:
    root = copy_bundled_estate(tmp_path)
    _edit(root, SETTINGS, lambda doc: doc["spec"].update(imageRegistry=registry))
    result = validate(root, "dev")
    assert [(d.code, d.span.file) for d in result.diagnostics if d.severity.value == "error"] == [
        ("S005", SETTINGS)
    ]


def test_a_trainjob_runs_the_same_trainer_with_the_same_contract(tmp_path: Path) -> None:
    root = copy_bundled_estate(tmp_path)
    _, job_env, job_config = _job_and_config(root)
    _edit(root, SETTINGS, lambda doc: doc["spec"].update(training={"backend": "trainjob"}))
    (trainjob,) = _rendered(root, "TrainJob")
    trainer = trainjob["spec"]["trainer"]
    env = _env(trainer)
    assert trainer["image"] == "ghcr.io/llmops/trainer:0.1.0"
    assert trainer["command"] == list(TRAINER_COMMAND)  # not the runtime's torchrun command
    config = json.loads(env.pop("LLMOPS_TRAINING_CONFIG_JSON"))
    assert config == job_config
    assert (
        env["LLMOPS_JOB_DIGEST"] == trainjob["metadata"]["annotations"]["llmops.io/content-sha256"]
    )
    mounted = {"LLMOPS_TRAINING_CONFIG", "LLMOPS_HYPERPARAMETERS", "LLMOPS_JOB_DIGEST"}
    assert {k: v for k, v in env.items() if k not in mounted} == {
        k: v for k, v in job_env.items() if k not in mounted
    }


def _as_the_kubelet_reads(value: str, variables: dict[str, str]) -> str:
    """An env value after Kubernetes' expansion: `$$` is `$`, `$(NAME)` a defined variable's
    value (left as written when undefined), any other `$` itself."""
    out, index = [], 0
    while index < len(value):
        if value.startswith("$$", index):
            out.append("$")
            index += 2
        elif value.startswith("$(", index) and ")" in value[index:]:
            end = value.index(")", index)
            name = value[index + 2 : end]
            out.append(variables.get(name, value[index : end + 1]))
            index = end + 1
        else:
            out.append(value[index])
            index += 1
    return "".join(out)


@pytest.mark.parametrize("backend", ["job", "trainjob"])
def test_the_trainer_reads_its_environment_as_written_whatever_dollars_it_holds(
    tmp_path: Path, backend: str
) -> None:
    """Kubernetes expands `$(NAME)` and `$$` in env values: a hyperparameter `$(HOME)` in the
    TrainJob's job.json reached the trainer as the home folder, and the contract check failed."""
    root = copy_bundled_estate(tmp_path)
    _edit(root, SETTINGS, lambda doc: doc["spec"].update(training={"backend": backend}))
    tricky = "q_proj,$(LLMOPS_TRAINING_METHOD),v$$proj,$HOME,$(HOME)"
    _edit(
        root,
        JOB,
        lambda doc: doc["spec"]["trainJobSpec"]["hyperparameters"].update(
            lora_target_modules=tricky
        ),
    )
    kind = "TrainJob" if backend == "trainjob" else "Job"
    (job,) = _rendered(root, kind)
    container = (
        job["spec"]["trainer"]
        if backend == "trainjob"
        else job["spec"]["template"]["spec"]["containers"][0]
    )
    written = _env(container)
    variables = {"HOME": "/root"}
    read: dict[str, str] = {}
    for name, value in written.items():  # in order: a variable may name those before it
        read[name] = _as_the_kubelet_reads(value, {**variables, **read})
    assert read["LLMOPS_TRAINING_METHOD"] == "SFT"
    if backend == "trainjob":
        config = json.loads(read["LLMOPS_TRAINING_CONFIG_JSON"])
        assert config["hyperparameters"]["lora_target_modules"] == tricky
