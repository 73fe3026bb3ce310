"""Time cold `llmops validate` runs: the bundled estate and synthetic estates of 100 to 3,000
endpoints.

Each timing is a fresh interpreter (`python -m llmops.cli.main validate ...`), because that is what
a user and CI pay: interpreter start, imports, then the work. Also prints where the time goes for
the 1,000-endpoint estate (load, schema, resolve, checks, report; measured in a fresh process too)
and the slowest imports of a bundled run (`python -X importtime`).

Usage: ``python benchmarks/bench_validate.py [--runs 5] [--sizes 100,1000,3000] [--check]``
(``make bench`` runs it with the defaults). ``--check`` exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:  # run as a script from a checkout without `pip install -e`
    sys.path.insert(0, str(PROJECT_ROOT))

ALL_ENVS = ("dev", "stg", "prod")
TARGETS = {"bundled": 0.2, "1000-dev": 2.0}  # seconds, cold, median of the runs
STAGES = ("import", "load", "schema", "resolve", "checks", "report")


@dataclass(frozen=True)
class Case:
    """One row of the table: an estate and the `validate` arguments it is timed with."""

    label: str
    root: Path
    env: str | None
    documents: int
    target: float | None = None

    def argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "llmops.cli.main",
            "validate",
            str(self.root),
            *(["--env", self.env] if self.env else []),
        ]


@dataclass(frozen=True)
class Timing:
    case: Case
    times: list[float]

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def met(self) -> bool | None:
        return None if self.case.target is None else self.median <= self.case.target


def child_environment() -> dict[str, str]:
    """The children must import this checkout's `compiler` and `llmops`, installed or not."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    # the warm-up leaves the .pyc files an installed package has; without them every timed run
    # would compile each changed module again
    for name in ("LLMOPS_DEBUG", "PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME"):
        env.pop(name, None)
    env["NO_COLOR"] = "1"
    return env


def time_case(case: Case, runs: int) -> Timing:
    """One untimed warm-up (file cache, .pyc), then ``runs`` timed cold processes."""
    env = child_environment()
    warmup = subprocess.run(case.argv(), capture_output=True, text=True, env=env, cwd=PROJECT_ROOT)
    if warmup.returncode != 0:
        raise SystemExit(
            f"{case.label}: validate exited {warmup.returncode}\n{warmup.stdout}{warmup.stderr}"
        )
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            case.argv(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=PROJECT_ROOT,
            check=True,
        )
        times.append(time.perf_counter() - start)
    return Timing(case, times)


def generated_documents(endpoints: int, envs: tuple[str, ...]) -> int:
    """Documents `validate` reads: the shared catalog and jobs, plus per environment its settings,
    endpoints and approvals."""
    from benchmarks.generate_estate import PROFILES

    shared = 3 * endpoints
    return shared + sum(1 + endpoints + endpoints * len(PROFILES[env].approvers) for env in envs)


def bundled_documents() -> int:
    from compiler.load.estate import load_estate
    from compiler.load.tree import DirectoryTree

    loaded = load_estate(DirectoryTree(PROJECT_ROOT))
    return sum(len(source.documents) for source in loaded.files.values())


def build_cases(workdir: Path, sizes: list[int]) -> list[Case]:
    # not at the top: `--stages-of` times imports
    from benchmarks.generate_estate import generate_estate

    cases = [
        Case(
            "bundled estate (all envs)", PROJECT_ROOT, None, bundled_documents(), TARGETS["bundled"]
        )
    ]
    for size in sizes:
        root = workdir / f"estate-{size}"
        if not (root / "environments").is_dir():
            generate_estate(root, size, ALL_ENVS)
        cases.append(
            Case(
                f"{size:,} endpoints, --env dev",
                root,
                "dev",
                generated_documents(size, ("dev",)),
                TARGETS["1000-dev"] if size == 1000 else None,
            )
        )
        cases.append(
            Case(f"{size:,} endpoints x 3 envs", root, None, generated_documents(size, ALL_ENVS))
        )
    return cases


def print_table(timings: list[Timing], runs: int) -> None:
    header = f"{'case':<30} {'docs':>7} {'min s':>7} {'median s':>9} {'ms/doc':>7}  target"
    print(f"cold `llmops validate`, {runs} runs each (fresh interpreter per run)")
    print(header)
    print("-" * len(header))
    for timing in timings:
        case = timing.case
        verdict = (
            ""
            if case.target is None
            else f"<= {case.target:.1f} s {'ok' if timing.met else 'MISSED'}"
        )
        print(
            f"{case.label:<30} {case.documents:>7,} {timing.best:>7.3f} {timing.median:>9.3f} "
            f"{1000 * timing.median / case.documents:>7.3f}  {verdict}"
        )


# -- per-stage breakdown, measured in a fresh child process (``--stages-of``)
# ------------------------


def _stages_child(root: Path, env: str | None) -> dict[str, float]:
    """Time each pipeline stage once, cold, as `validate_repository` runs them (collector
    paused)."""
    times: dict[str, float] = {}

    def timed(stage: str, call: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        result = call()
        times[stage] = times.get(stage, 0.0) + time.perf_counter() - start
        return result

    start = time.perf_counter()
    from compiler.check.runner import run_checks
    from compiler.diagnostics import DiagnosticSet
    from compiler.load.estate import load_estate
    from compiler.load.tree import DirectoryTree
    from compiler.pipeline import ValidationResult, validate_manifests
    from compiler.resolve.estate import resolve_estate
    from llmops.reporting import print_report

    times["import"] = time.perf_counter() - start

    tree = DirectoryTree(root)
    gc.disable()  # as compiler.pipeline.validate_repository does
    loaded = timed("load", lambda: load_estate(tree, env))
    manifests, broken, gaps, schema_diagnostics = timed(
        "schema", lambda: validate_manifests(loaded)
    )
    estate = timed(
        "resolve", lambda: resolve_estate(tree, loaded.environments, manifests, broken, gaps)
    )
    check_diagnostics = timed("checks", lambda: run_checks(estate))
    collected = DiagnosticSet()
    for group in (loaded.diagnostics, schema_diagnostics, check_diagnostics):
        collected.extend(group)
    result = ValidationResult(loaded=loaded, estate=estate, diagnostics=collected.sorted())
    gc.enable()
    with open(os.devnull, "w", encoding="utf-8") as sink:
        timed("report", lambda: print_report(result.diagnostics, result, "text", sink))
    times["diagnostics"] = float(len(result.diagnostics))
    return times


def stage_breakdown(case: Case, runs: int) -> dict[str, float]:
    """Per stage, the fastest of ``runs`` fresh processes."""
    best: dict[str, float] = {}
    for _ in range(runs):
        argv = [sys.executable, str(Path(__file__).resolve()), "--stages-of", str(case.root)]
        if case.env:
            argv += ["--env", case.env]
        child = subprocess.run(
            argv, capture_output=True, text=True, env=child_environment(), check=True
        )
        for stage, seconds in json.loads(child.stdout).items():
            best[stage] = min(best.get(stage, seconds), seconds)
    return best


def print_stages(case: Case, stages: dict[str, float]) -> None:
    total = sum(stages[stage] for stage in STAGES)
    print(
        f"\nstages of {case.label} ({case.documents:,} documents; fastest of each, in-process, "
        "cold):"
    )
    for stage in STAGES:
        print(f"  {stage:<8} {stages[stage]:>7.3f} s  {100 * stages[stage] / total:>5.1f} %")
    print(f"  {'total':<8} {total:>7.3f} s  (plus interpreter start-up)")


# -- import time of a bundled run
# --------------------------------------------------------------------


def import_offenders(top: int) -> None:
    """Parse `python -X importtime` of a bundled validate run and show the slowest imports."""
    argv = [
        sys.executable,
        "-X",
        "importtime",
        "-m",
        "llmops.cli.main",
        "validate",
        str(PROJECT_ROOT),
    ]
    child = subprocess.run(
        argv, capture_output=True, text=True, env=child_environment(), cwd=PROJECT_ROOT
    )
    rows: list[tuple[int, int, int, str]] = []  # self µs, cumulative µs, depth, module
    for line in child.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, written = line[len("import time:") :].split("|")
        name = written[1:]  # one space separates the column from the indented name
        depth = (len(name) - len(name.lstrip(" "))) // 2
        rows.append((int(own), int(cumulative), depth, name.strip()))
    total = sum(row[0] for row in rows)
    print(
        f"\nimports of a bundled run: {len(rows)} modules, {total / 1e6:.3f} s in total (python "
        "-X importtime)"
    )
    print(f"  {'self ms':>8} {'cum ms':>8}  module (slowest by own time)")
    for self_us, cumulative_us, _, name in sorted(rows, reverse=True)[:top]:
        print(f"  {self_us / 1000:>8.1f} {cumulative_us / 1000:>8.1f}  {name}")
    print(f"  {'':>8} {'cum ms':>8}  top-level imports (by cumulative time)")
    for _, cumulative_us, _, name in sorted((r for r in rows if r[2] <= 1), key=lambda r: -r[1])[
        :top
    ]:
        print(f"  {'':>8} {cumulative_us / 1000:>8.1f}  {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark cold `llmops validate` runs.")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per case (default: 5)")
    parser.add_argument(
        "--sizes", default="100,1000,3000", help="endpoint counts (default: 100,1000,3000)"
    )
    parser.add_argument(
        "--workdir", type=Path, help="keep generated estates here (default: a temporary dir)"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--stages-of", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--env", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stages_of is not None:
        print(json.dumps(_stages_child(args.stages_of, args.env)))
        return 0
    sizes = [int(size) for size in args.sizes.split(",") if size]
    with tempfile.TemporaryDirectory(prefix="llmops-bench-") as temporary:
        workdir = args.workdir or Path(temporary)
        cases = build_cases(workdir, sizes)
        timings = [time_case(case, args.runs) for case in cases]
        print_table(timings, args.runs)
        for case in cases:
            if case.label.startswith("1,000 endpoints"):
                print_stages(case, stage_breakdown(case, min(args.runs, 3)))
        import_offenders(top=12)
    missed = [timing.case.label for timing in timings if timing.met is False]
    if missed:
        print(f"\nmissed targets: {', '.join(missed)}")
    return 1 if missed and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
