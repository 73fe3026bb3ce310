"""Generate synthetic estates that validate cleanly, so `llmops validate` can be timed at scale.

Every endpoint gets its own Model, Dataset, TrainingJob (in ``_shared``, like the bundled estate)
and, per environment, a ServingEndpoint and the Approvals that environment's policy needs, pinned to
the model's real digest. Manifests are grouped ten endpoints to a file, as a team splitting an
estate by area would. All YAML is written with ``yaml.safe_dump``; no user data goes through string
templates.

Usage: ``python benchmarks/generate_estate.py OUT --endpoints N [--envs dev,stg,prod]
[--no-training-jobs]``
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:  # run as a script from a checkout without `pip install -e`
    sys.path.insert(0, str(PROJECT_ROOT))

import yaml  # noqa: E402

from compiler.resolve.model_digest import model_digest  # noqa: E402
from compiler.spec.base import API_VERSION  # noqa: E402
from compiler.spec.model import ModelManifest  # noqa: E402

BUNDLED_ENVIRONMENTS = PROJECT_ROOT / "environments"
GROUP_SIZE = 10
FAMILIES = ("llama", "qwen2", "gemma")
# Small public models (preset, parameters): large enough to exercise every capacity check, small
# enough that the dev endpoints (CPU) and the CPU training jobs fit, so the estate stays clean.
MODEL_SIZES = {
    "llama": ("llama-3.2-1b", "1.2B"),
    "qwen2": ("qwen2.5-1.5b", "1.5B"),
    "gemma": ("gemma-2-2b", "2.6B"),
}
SAMPLE_HEADER = ("instruction", "input", "output")

_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass(frozen=True)
class EnvProfile:
    """How endpoints look in one environment; mirrors the bundled dev/stg/prod serving manifests."""

    gpus: int
    min_replicas: int
    max_replicas: int
    max_concurrent_requests: int
    # (user, role); as many as the environment's minApprovers
    approvers: tuple[tuple[str, str], ...]


PROFILES: dict[str, EnvProfile] = {
    "dev": EnvProfile(0, 1, 3, 256, (("admin", "admin"),)),
    "stg": EnvProfile(1, 1, 3, 64, (("admin", "admin"),)),
    "prod": EnvProfile(1, 2, 6, 64, (("alice", "admin"), ("bob", "ml-lead"))),
}


@dataclass(frozen=True)
class EstateCounts:
    """What was generated, so tests and the benchmark can check and label it."""

    endpoints_per_env: int
    environments: tuple[str, ...]
    models: int
    datasets: int
    training_jobs: int
    approvals: int
    manifest_files: int


def _label(text: str) -> str:
    """A DNS label from free text (the same shape `llmops approve` gives approval names)."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return cleaned[:63].rstrip("-") or "x"


def _model_name(i: int) -> str:
    return f"bench-model-{i:05d}"


def _model_version(i: int) -> str:
    return f"{1 + i // 1000}.{i % 1000}"


def _dataset_name(i: int) -> str:
    return f"bench-data-{i:05d}"


def _dataset_version(i: int) -> str:
    return f"v{1 + i % 3}.{i // 3}"


def _envelope(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}, "spec": spec}


def model_document(i: int) -> dict[str, Any]:
    """A Model in the bundled estate's shape, with the capacity facts the checks read."""
    name, version = _model_name(i), _model_version(i)
    return _envelope(
        "Model",
        name,
        {
            "name": name,
            "version": version,
            "type": "base" if i % 4 else "finetuned",
            "ownerTeam": f"team-{i % 7}",
            "metadata": {
                "architecture": "transformer",
                "parameters": MODEL_SIZES[FAMILIES[i % len(FAMILIES)]][1],
                "framework": "pytorch",
                "model_family": FAMILIES[i % len(FAMILIES)],
                "description": f"Synthetic benchmark model {i}",
                "context_length": 8192,
                "dtype": "bf16",
                "preset": MODEL_SIZES[FAMILIES[i % len(FAMILIES)]][0],
            },
            "storageUri": f"s3://models/{name}/{version}/",
            "status": "draft",
        },
    )


def dataset_document(i: int, sample_file: str) -> dict[str, Any]:
    name, version = _dataset_name(i), _dataset_version(i)
    return _envelope(
        "Dataset",
        name,
        {
            "name": name,
            "version": version,
            "owner_team": f"team-{i % 7}",
            "type": "sft_pair",
            "storage_uri": f"s3://datasets/{name}/{version}/",
            "files": [sample_file],
        },
    )


def training_job_document(i: int) -> dict[str, Any]:
    """A CPU-only SFT job like the bundled one; references alternate between both spellings."""
    model = f"{_model_name(i)}@{_model_version(i)}"
    dataset = f"{_dataset_name(i)}@{_dataset_version(i)}"
    if i % 2:
        model, dataset = model.replace("@", "-"), dataset.replace("@", "-")
    return _envelope(
        "TrainingJob",
        f"bench-ft-{i:05d}",
        {
            "modelId": model,
            "datasetId": dataset,
            "jobType": "finetune",
            "useGpu": False,
            "resourceProfile": {"cpuCores": 4, "memory": "8Gi", "maxDuration": 60},
            "trainJobSpec": {
                "model_ref": model,
                "model_family": FAMILIES[i % len(FAMILIES)],
                "job_type": "SFT",
                "dataset_ref": dataset,
                "dataset_type": "instruction",
                "finetuning_type": "lora",
                "resources": {"gpus": 0},
                "hyperparameters": {
                    "learning_rate": 2e-5,
                    "batch_size": 4,
                    "num_epochs": 1 + i % 3,
                },
                "use_gpu": False,
            },
        },
    )


def endpoint_document(i: int, env: str, profile: EnvProfile) -> dict[str, Any]:
    name = f"bench-ep-{i:05d}"
    model = f"{_model_name(i)}@{_model_version(i)}"
    if i % 3 == 0:
        model = model.replace("@", "-")
    resources: dict[str, Any] = {"gpus": profile.gpus, "gpu_memory_gb": 80}
    if profile.gpus:
        resources.update({"cpu": "8", "memory": "32Gi"})
    return _envelope(
        "ServingEndpoint",
        name,
        {
            "modelId": model,
            "environment": env,
            "route": f"/llm-ops/v1/serve/{name}",
            "minReplicas": profile.min_replicas,
            "maxReplicas": profile.max_replicas,
            "autoscalePolicy": {"cpuUtilization": 70},
            "useGpu": profile.gpus > 0,
            "deploymentSpec": {
                "model_ref": model,
                "model_family": FAMILIES[i % len(FAMILIES)],
                "job_type": "SFT",
                "serve_target": "GENERATION",
                "resources": resources,
                "runtime": {
                    "max_concurrent_requests": profile.max_concurrent_requests,
                    "max_input_tokens": 4096,
                    "max_output_tokens": 1024,
                },
                "use_gpu": profile.gpus > 0,
            },
        },
    )


def approval_documents(
    model: dict[str, Any], digest: str, profile: EnvProfile
) -> list[dict[str, Any]]:
    """The documents `llmops approve` would write, one per approver the environment needs."""
    name, version = model["metadata"]["name"], model["spec"]["version"]
    return [
        _envelope(
            "Approval",
            _label(f"{name}-{version}-{user}"),
            {
                "modelId": f"{name}@{version}",
                "status": "approved",
                "approvedBy": user,
                "role": role,
                "modelDigest": digest,
            },
        )
        for user, role in profile.approvers
    ]


def _sample_csv(group: int) -> str:
    """A small sft_pair sample; the csv module quotes whatever needs quoting."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SAMPLE_HEADER)
    for row in range(5):
        writer.writerow(
            (f"Question {row} of group {group}", "", f'Answer {row}, with a comma and "quotes".')
        )
    return buffer.getvalue()


def _dump(path: Path, documents: list[dict[str, Any]], header: str) -> None:
    body = yaml.dump_all(
        documents,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        explicit_start=len(documents) > 1,
        width=100,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# {header}\n{body}", encoding="utf-8")


def _groups(endpoints: int) -> Iterator[range]:
    for start in range(0, endpoints, GROUP_SIZE):
        yield range(start, min(start + GROUP_SIZE, endpoints))


def generate_estate(
    root: Path,
    endpoints: int,
    environments: tuple[str, ...] = ("dev", "stg", "prod"),
    training_jobs: bool = True,
) -> EstateCounts:
    """Write an estate with ``endpoints`` endpoints in each of ``environments`` under ``root``.

    Environments are the bundled ones (their environment.yaml is copied), so their policies apply.
    Raises ``ValueError`` for an environment the bundled estate does not define.
    """
    unknown = [env for env in environments if env not in PROFILES]
    if unknown:
        raise ValueError(
            f"unknown environment(s) {', '.join(unknown)}; choose from {', '.join(PROFILES)}"
        )
    if endpoints < 0:
        raise ValueError("endpoints must be >= 0")
    envs_dir = root / "environments"
    shared = envs_dir / "_shared"
    files = 0
    approvals = 0
    for env in environments:
        (envs_dir / env).mkdir(parents=True, exist_ok=True)
        settings = yaml.safe_load(
            (BUNDLED_ENVIRONMENTS / env / "environment.yaml").read_text(encoding="utf-8")
        )
        required = settings["spec"].get("promotion", {}).get("requires")
        if required is not None and required not in environments:
            del settings["spec"]["promotion"]  # promotion order needs the environment it names
        # Past about 400 endpoints an environment's proxy.json (every endpoint, model, dataset and
        # job) exceeds the 1 MiB a ConfigMap holds: K009, which Kubernetes would enforce. The
        # benchmarks time the compiler, not a cluster, so the estate reports it off (it still runs).
        settings["spec"].setdefault("rules", {})["disabled"] = ["K009"]
        _dump(envs_dir / env / "environment.yaml", [settings], f"the bundled {env} settings")
        files += 1
    for group, indexes in enumerate(_groups(endpoints)):
        sample = f"examples/datasets/bench-group-{group:04d}.csv"
        (root / sample).parent.mkdir(parents=True, exist_ok=True)
        (root / sample).write_text(_sample_csv(group), encoding="utf-8")
        models = [model_document(i) for i in indexes]
        catalog = [
            document
            for i, model in zip(indexes, models, strict=True)
            for document in (model, dataset_document(i, sample))
        ]
        _dump(
            shared / "catalog" / f"group-{group:04d}.yaml",
            catalog,
            f"benchmark catalog group {group}",
        )
        files += 1
        if training_jobs:
            _dump(
                shared / "training" / f"group-{group:04d}.yaml",
                [training_job_document(i) for i in indexes],
                f"benchmark training group {group}",
            )
            files += 1
        digests = [model_digest(ModelManifest.model_validate(model)) for model in models]
        for env in environments:
            profile = PROFILES[env]
            _dump(
                envs_dir / env / "serving" / f"group-{group:04d}.yaml",
                [endpoint_document(i, env, profile) for i in indexes],
                f"benchmark endpoints group {group}",
            )
            granted = [
                doc
                for model, digest in zip(models, digests, strict=True)
                for doc in approval_documents(model, digest, profile)
            ]
            _dump(
                envs_dir / env / "approvals" / f"group-{group:04d}.yaml",
                granted,
                f"benchmark approvals group {group}",
            )
            approvals += len(granted)
            files += 2
    return EstateCounts(
        endpoints_per_env=endpoints,
        environments=tuple(environments),
        models=endpoints,
        datasets=endpoints,
        training_jobs=endpoints if training_jobs else 0,
        approvals=approvals,
        manifest_files=files,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write a synthetic llmops estate that validates cleanly."
    )
    parser.add_argument("out", type=Path, metavar="OUT", help="directory to create the estate in")
    parser.add_argument("--endpoints", type=int, required=True, help="endpoints per environment")
    parser.add_argument(
        "--envs", default="dev,stg,prod", help="comma-separated environments (default: all)"
    )
    parser.add_argument(
        "--no-training-jobs", action="store_true", help="leave out the TrainingJobs"
    )
    args = parser.parse_args(argv)
    environments = tuple(env.strip() for env in args.envs.split(",") if env.strip())
    try:
        counts = generate_estate(args.out, args.endpoints, environments, not args.no_training_jobs)
    except ValueError as error:
        parser.error(str(error))
    print(
        f"{args.out}: {counts.endpoints_per_env} endpoints in each of "
        f"{', '.join(counts.environments)}; {counts.models} models, {counts.datasets} datasets, "
        f"{counts.training_jobs} training jobs, {counts.approvals} approvals in "
        f"{counts.manifest_files} manifest files"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
