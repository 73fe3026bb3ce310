"""Time the worst-case numbers per rule family: no check's cost may depend on how large a value is.

For every rule family whose rules read numbers, two estates of the same shape: one with ordinary
values and one with the largest values that reach the checks (20-digit GPU counts, a 10**12 GPU
limit, head and parameter counts of 10**20, 1e300 GiB GPUs, 4,000-digit integers in every numeric
field). Each is validated in this process (after a warm-up, so the numbers are the checks' cost, not
imports), and the capacity family is also explained (`llmops explain`), since explain searches GPU
counts too. The worst case must cost about what the ordinary case costs: `gpus:
99999999999999999999` once looped for minutes.

Families whose rules read no numeric value (`Y` beyond number literals, `K` names, `R` references,
`D` dataset files, `X` experiments, `G` audit) have sizes instead, bounded by the loader (file size,
alias expansion, nesting depth) and timed by `bench_validate.py`.

Usage: ``python benchmarks/bench_worst_case.py [--runs 5] [--check]``. ``--check`` exits 1 when a
worst case takes more than twice its ordinary case plus 50 ms (median of the runs).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:  # run as a script from a checkout without `pip install -e`
    sys.path.insert(0, str(PROJECT_ROOT))

HUGE = 99_999_999_999_999_999_999
LONG_INTEGER = int("9" * 4000)  # below Python's 4,300-digit limit for integer text
SLACK_FACTOR, SLACK_SECONDS = 2.0, 0.05


@dataclass(frozen=True)
class Values:
    """The numbers one estate is written with."""

    gpus: int  # GPUs per replica of the endpoints and the training job
    limit: int  # the environment's gpu.maxPerEndpoint
    count: int  # head, layer and token counts
    parameters: str
    gpu_memory: str  # gpu.memoryGiB as written
    replicas: int
    memory: str  # a CPU replica's resources.memory
    integer: int  # every other numeric field (schema family)


ORDINARY = Values(
    gpus=3,
    limit=8,
    count=4096,
    parameters="7B",
    gpu_memory="18",
    replicas=2,
    memory="8Gi",
    integer=4,
)
WORST = Values(
    gpus=HUGE,
    limit=10**12,
    count=HUGE,
    parameters=f"{HUGE}T",
    gpu_memory="1.0e+300",
    replicas=HUGE,
    memory=f"{HUGE}Ei",
    integer=LONG_INTEGER,
)


def _document(kind: str, name: str, spec: str) -> str:
    body = textwrap.indent(textwrap.dedent(spec).strip(), "  ")
    return f"apiVersion: llmops.io/v1\nkind: {kind}\nmetadata: {{name: {name}}}\nspec:\n{body}\n"


def _model(name: str, metadata: str) -> str:
    return _document(
        "Model",
        name,
        f"""
        version: "1.0"
        type: base
        storageUri: s3://models/{name}/1.0/
        metadata: {{{metadata}}}
        """,
    )


def _endpoint(name: str, model: str, deployment: str, extra: str = "") -> str:
    gpu = "gpus: 0" not in deployment
    return _document(
        "ServingEndpoint",
        name,
        f"""
        modelId: {model}@1.0
        route: /llm-ops/v1/serve/{name}
        useGpu: {str(gpu).lower()}
        {extra}
        deploymentSpec: {deployment}
        """,
    )


def capacity_estate(v: Values) -> dict[str, str]:
    """One endpoint or job per capacity rule, each in the form whose hint searches GPU counts."""
    return {
        "environment.yaml": _document(
            "Environment", "stg", f"gpu: {{memoryGiB: {v.gpu_memory}, maxPerEndpoint: {v.limit}}}"
        ),
        "models.yaml": "---\n".join(
            [
                _model(
                    "llama", "model_family: llama, parameters: 7B"
                ),  # llama-2-7b's shape, assumed
                _model(
                    "wide",
                    f"parameters: {v.parameters}, num_layers: {v.count}, num_attention_heads: "
                    f"{v.count}, num_kv_heads: {v.count}, head_dim: 128, context_length: {v.count}",
                ),
                _model("noshape", f"parameters: {v.parameters}"),
            ]
        ),
        "endpoints.yaml": "---\n".join(
            [
                _endpoint("heads", "llama", f"{{resources: {{gpus: {v.gpus}}}}}"),  # C005
                _endpoint("context", "llama", "{resources: {gpus: 1}}"),  # C003, more GPUs searched
                _endpoint(
                    "weights", "noshape", "{resources: {gpus: 1}}"
                ),  # C002, more GPUs searched
                _endpoint(
                    "wide",
                    "wide",
                    f"{{resources: {{gpus: {v.gpus}}}, runtime: {{max_concurrent_requests: "
                    f"{v.count}, max_input_tokens: {v.count}, max_output_tokens: 1}}}}",
                ),
                _endpoint("cpu", "wide", f"{{resources: {{gpus: 0, memory: {v.memory}}}}}"),  # C006
            ]
        ),
        "data.yaml": _document(
            "Dataset", "d", 'version: "1"\ntype: sft_pair\nstorage_uri: s3://datasets/d/1/'
        ),
        "job.yaml": _document(
            "TrainingJob",
            "j",
            f"""
            modelId: wide@1.0
            datasetId: d@1
            jobType: finetune
            useGpu: true
            trainJobSpec: {{finetuning_type: full, resources: {{gpus: {v.gpus}}}}}
            """,
        ),  # C008
    }


def serving_estate(v: Values) -> dict[str, str]:
    """Replica bounds, autoscaling target and token limits (E002-E004)."""
    return {
        "models.yaml": _model("m", "model_family: llama, parameters: 8B, preset: llama-3-8b"),
        "endpoints.yaml": _endpoint(
            "e",
            "m",
            f"{{resources: {{gpus: 0}}, runtime: {{max_concurrent_requests: "
            f"{v.count}, max_input_tokens: {v.count}, max_output_tokens: {v.count}}}}}",
            extra=f"minReplicas: {v.replicas}\n        maxReplicas: 1\n        "
            f"autoscalePolicy: {{cpuUtilization: {v.replicas}}}",
        ),
    }


def policy_estate(v: Values) -> dict[str, str]:
    """GPU limit, replica floor and approver count of the environment (P001, P008, P010)."""
    return {
        "environment.yaml": _document(
            "Environment",
            "stg",
            f"""
            gpu: {{maxPerEndpoint: {v.limit}, memoryGiB: 80}}
            replicas: {{min: {v.replicas}}}
            approval: {{minApprovers: {v.replicas}}}
            """,
        ),
        "models.yaml": _model("m", "model_family: llama, parameters: 8B, preset: llama-3-8b"),
        "endpoints.yaml": _endpoint("e", "m", f"{{resources: {{gpus: {v.gpus}}}}}"),
    }


def schema_estate(v: Values) -> dict[str, str]:
    """Every numeric field of an endpoint and a job at the same integer (type and range checks)."""
    n = v.integer
    return {
        "models.yaml": _model(
            "m",
            f"parameters: {n}, context_length: {n}, num_layers: {n}, "
            f"num_attention_heads: {n}, num_kv_heads: {n}, head_dim: {n}, hidden_size: {n}",
        ),
        "endpoints.yaml": _endpoint(
            "e",
            "m",
            f"{{resources: {{gpus: 0, gpu_memory_gb: {n}}}, runtime: "
            f"{{max_concurrent_requests: {n}, max_input_tokens: {n}, "
            f"max_output_tokens: {n}}}}}",
            extra=f"minReplicas: {n}\n        maxReplicas: {n}",
        ),
        "data.yaml": _document(
            "Dataset", "d", 'version: "1"\ntype: sft_pair\nstorage_uri: s3://datasets/d/1/'
        ),
        "job.yaml": _document(
            "TrainingJob",
            "j",
            f"""
            modelId: m@1.0
            datasetId: d@1
            jobType: finetune
            resourceProfile: {{cpuCores: {n}, memory: 8Gi, maxDuration: {n}}}
            trainJobSpec: {{resources: {{gpus: 0}}, hyperparameters: {{batch_size: {n}}}}}
            """,
        ),
    }


# family -> (estate, explain it too)
FAMILIES: dict[str, tuple[Callable[[Values], dict[str, str]], bool]] = {
    "C capacity": (capacity_estate, True),
    "E serving": (serving_estate, False),
    "P policy": (policy_estate, False),
    "S schema": (schema_estate, False),
}


def write_estate(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "environments" / "stg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def run_once(root: Path, explain: bool) -> float:
    from compiler.load.tree import DirectoryTree
    from compiler.pipeline import validate_repository
    from llmops.cli.main import main

    start = time.perf_counter()
    validate_repository(DirectoryTree(root), "stg")
    if explain:
        for endpoint in ("heads", "context", "weights", "wide", "cpu"):
            with (
                contextlib.redirect_stdout(io.StringIO()),
                contextlib.redirect_stderr(io.StringIO()),
            ):
                main(["explain", endpoint, "--env", "stg", str(root)])
    return time.perf_counter() - start


def median_seconds(root: Path, explain: bool, runs: int) -> float:
    run_once(root, explain)  # warm-up: imports, caches
    return statistics.median(run_once(root, explain) for _ in range(runs))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when a worst case costs more than allowed"
    )
    args = parser.parse_args()
    print(
        f"validate{' + explain' if any(e for _, e in FAMILIES.values()) else ''} in-process, "
        f"median of {args.runs} warm runs"
    )
    header = f"{'family':<12} {'ordinary ms':>12} {'worst ms':>10} {'ratio':>7}  verdict"
    print(header)
    print("-" * len(header))
    failed = False
    with tempfile.TemporaryDirectory(prefix="llmops-worst-") as directory:
        for family, (estate, explain) in FAMILIES.items():
            slug = family.split()[0]
            ordinary = median_seconds(
                write_estate(Path(directory) / f"{slug}-ordinary", estate(ORDINARY)),
                explain,
                args.runs,
            )
            worst = median_seconds(
                write_estate(Path(directory) / f"{slug}-worst", estate(WORST)), explain, args.runs
            )
            ok = worst <= SLACK_FACTOR * ordinary + SLACK_SECONDS
            failed |= not ok
            print(
                f"{family:<12} {1000 * ordinary:>12.1f} {1000 * worst:>10.1f} "
                f"{worst / ordinary:>7.2f}  "
                f"{'ok' if ok else 'TOO SLOW'}{' (+ explain of 5 endpoints)' if explain else ''}"
            )
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
