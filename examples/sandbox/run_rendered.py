"""Run what `llmops render` wrote, on this machine, as a cluster would run it: a training Job's
trainer, or an InferenceService's CPU model server.

    python examples/sandbox/run_rendered.py train RENDERED_DIR --job NAME --mount DIR
    python examples/sandbox/run_rendered.py serve RENDERED_DIR --endpoint NAME \\
        --model-dir DIR --port PORT

`train` takes the trainer container's variables and the ConfigMap's files (job.json,
hyperparameters.json) from the rendered `batch/v1` Job (or Kubeflow `TrainJob`) of the TrainingJob
NAME, writes the files into DIR (standing in for the mount at /etc/llmops/training: the one change,
made to the variables that point into it) and runs `python -m llmops.train` from .venv-train with
exactly those variables, plus PATH, HOME and the storage credentials a service account would supply
(`AWS_*` from this environment).

`serve` starts examples/sandbox/huggingface_model.py from .venv-serve with the rendered
InferenceService's container `args`, plus what KServe supplies: the runtime's `--model_name` (the
predictor's name, before the args, which win), the folder the storage initializer would
have filled (`--model_dir`, /mnt/models in a pod) and a loopback port for the pod's 8080. It
refuses an InferenceService this server cannot run (another runtime, LoRA adapters).

The same functions are what the tests use to run the trainer and the model server.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from compiler.target.training_contract import CONFIG_MOUNT

PROJECT = Path(__file__).resolve().parents[2]
TRAIN_PYTHON = PROJECT / ".venv-train" / "bin" / "python"
SERVE_PYTHON = PROJECT / ".venv-serve" / "bin" / "python"
MODEL_SERVER = PROJECT / "examples" / "sandbox" / "huggingface_model.py"
HUGGINGFACE_RUNTIME = "kserve-huggingfaceserver"
# what a pod's service account (workload identity) would give the trainer for s3://
PASSED_THROUGH = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
)


class NotRunnable(Exception):
    """The rendered objects hold nothing this module can run as asked."""


@dataclass
class TrainerContract:
    """What the trainer container gets: its variables and the files mounted beside them."""

    env: dict[str, str]
    files: dict[str, str]  # the ConfigMap's data: job.json, hyperparameters.json
    digest: str  # the Job's llmops.io/content-sha256


def read_rendered(folder: Path) -> list[dict[str, Any]]:
    """Every object of a rendered environment folder (`llmops render -o DIR`: DIR/<env>/)."""
    objects: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.yaml")):
        objects.extend(
            document
            for document in yaml.safe_load_all(path.read_text(encoding="utf-8"))
            if isinstance(document, dict) and "kind" in document
        )
    return objects


def _training_job_name(obj: Mapping[str, Any]) -> str:
    labels: dict[str, str] = obj["metadata"].get("labels", {})
    return labels.get("llmops.io/training-job", "")


def trainer_contract(objects: Iterable[Mapping[str, Any]], job: str | None) -> TrainerContract:
    """The trainer's variables and files from the rendered Job (or TrainJob) of TrainingJob
    `job` (the only one when None)."""
    objects = list(objects)
    jobs = [
        obj
        for obj in objects
        if obj["kind"] in ("Job", "TrainJob") and job in (None, _training_job_name(obj))
    ]
    if len(jobs) != 1:
        found = sorted(_training_job_name(obj) for obj in objects if obj["kind"] == "Job")
        raise NotRunnable(f"{len(jobs)} rendered training jobs match {job!r}; found {found}")
    (rendered,) = jobs
    digest = rendered["metadata"]["annotations"]["llmops.io/content-sha256"]
    if rendered["kind"] == "TrainJob":  # no mount: the configuration travels in the variables
        variables = rendered["spec"]["trainer"]["env"]
        return TrainerContract({v["name"]: v["value"] for v in variables}, {}, digest)
    pod = rendered["spec"]["template"]["spec"]
    (volume,) = pod["volumes"]
    (config_map,) = [
        obj
        for obj in objects
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == volume["configMap"]["name"]
    ]
    (container,) = pod["containers"]
    env = {variable["name"]: variable["value"] for variable in container["env"]}
    return TrainerContract(env, dict(config_map["data"]), digest)


def trainer_environment(
    contract: TrainerContract, mount: Path, extra_env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Writes the mounted files into `mount`; returns the variables the trainer runs with."""
    mount = mount.resolve()  # the trainer runs in it
    mount.mkdir(parents=True, exist_ok=True)
    for name, text in contract.files.items():
        (mount / name).write_text(text, encoding="utf-8")
    env = {
        name: str(mount) + value[len(CONFIG_MOUNT) :]
        if value.startswith(CONFIG_MOUNT + "/")
        else value
        for name, value in contract.env.items()
    }
    env.update(
        {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(PROJECT),  # the trainer from this source tree
            "HOME": str(mount),
            **(extra_env or {}),
        }
    )
    return env


def run_trainer(
    contract: TrainerContract,
    mount: Path,
    *,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 300,
    capture: bool = True,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TRAIN_PYTHON), "-m", "llmops.train"],
        env=trainer_environment(contract, mount, extra_env),
        cwd=mount,
        capture_output=capture,
        text=True,
        timeout=timeout,
        check=False,
    )


def inference_service(objects: Iterable[Mapping[str, Any]], endpoint: str) -> Mapping[str, Any]:
    """The rendered InferenceService of ServingEndpoint `endpoint`."""
    services = [
        obj
        for obj in objects
        if obj["kind"] == "InferenceService"
        and obj["metadata"].get("labels", {}).get("llmops.io/endpoint") == endpoint
    ]
    if len(services) != 1:
        raise NotRunnable(f"{len(services)} rendered InferenceServices serve endpoint {endpoint!r}")
    return services[0]


def container_args(service: Mapping[str, Any]) -> list[str]:
    """The predictor container's `args`, once it is clear the CPU model server can run it."""
    model = service["spec"]["predictor"]["model"]
    if model.get("runtime") != HUGGINGFACE_RUNTIME or model.get("modelFormat") != {
        "name": "huggingface"
    }:
        raise NotRunnable(f"the InferenceService runs {model.get('runtime')!r}, not the CPU server")
    if "storageUri" not in model:
        raise NotRunnable("the InferenceService has no single storageUri (LoRA adapters?)")
    args: list[str] = list(model.get("args", []))
    return args


def server_command(service: Mapping[str, Any], model_dir: Path, port: int) -> list[str]:
    """The CPU model server's command line for the rendered InferenceService."""
    return [
        str(SERVE_PYTHON),
        str(MODEL_SERVER),
        # the runtime's --model_name={{.Name}}: the predictor's name; the rendered args win
        f"--model_name={service['metadata']['name']}-predictor",
        *container_args(service),
        f"--model_dir={model_dir}",  # /mnt/models, where the storageUri would be copied
        f"--http_port={port}",  # the pod's 8080
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="run a rendered training Job's trainer")
    train.add_argument("rendered", type=Path, help="the environment's rendered folder")
    train.add_argument("--job", help="the TrainingJob's name (needed when there are several)")
    train.add_argument("--mount", type=Path, required=True, help="stands in for the mount")
    serve = commands.add_parser("serve", help="run a rendered InferenceService's model server")
    serve.add_argument("rendered", type=Path, help="the environment's rendered folder")
    serve.add_argument("--endpoint", required=True, help="the ServingEndpoint's name")
    serve.add_argument("--model-dir", type=Path, required=True, help="the downloaded storageUri")
    serve.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    try:
        objects = read_rendered(args.rendered)
        if args.command == "train":
            contract = trainer_contract(objects, args.job)
            passed = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
            result = run_trainer(
                contract, args.mount, extra_env=passed, capture=False, timeout=3600
            )
            return result.returncode
        command = server_command(
            inference_service(objects, args.endpoint), args.model_dir, args.port
        )
    except NotRunnable as problem:
        print(f"run_rendered: {problem}", file=sys.stderr)
        return 1
    print("$ " + " ".join(command), flush=True)
    os.execv(command[0], command)


if __name__ == "__main__":
    raise SystemExit(main())
