"""Time cold `llmops render -o DIR` runs on synthetic estates, side by side with `kubectl
kustomize`.

Each timing is a fresh interpreter (`python -m llmops.cli.main render ESTATE -o DIR`) writing into a
directory that does not exist yet, so it includes interpreter start-up, imports, validation,
rendering and writing every file, as a user and CI pay them. Per estate size (N endpoints in each of
dev, stg and prod, with their models, datasets, training jobs and approvals) the table has:

* ``render -o``: all three environments (plus the Argo CD objects), the case the targets are about;
* ``render --env prod -o``: one environment, which should cost about a third of the above;
* ``kustomize``: ``kubectl kustomize DIR/<group>`` once per directory the render wrote (dev, stg,
  prod, _argocd), on the objects just rendered: the same objects, so objects/s compare like for
  like.

Why one kustomize invocation per directory: that is what `render -o` lays out (each directory's
kustomization.yaml lists its files) and it is kustomize's best case. Its build time grows with the
square of the resources in one kustomization, so a top-level kustomization listing the directories
builds the same objects more slowly (``--kustomize-top`` times that variant as well).

Then, for the 1,000-endpoint estate, where the time goes (import, load, schema, resolve, checks,
render, emit/layout, write), each stage timed in-process in a fresh process.

Estates are generated once and cached under ``benchmarks/.estates/`` (git-ignored), keyed by size
and by the generator's source, so a changed generator regenerates them.

Creating files is the one cost that depends on the machine's recent past: ext4 will not reuse an
inode freed in the last ~30 s, and skipping them (``recently_deleted`` in the kernel) made creating
12,000 files take 2-3 s instead of 0.2 s here, right after an ``rm -rf`` of a large tree (anyone's:
a test run's temporary estates count). So the outputs of all timed runs are kept until the script
ends, and before each case the script probes how long creating files takes and waits (up to
``--settle`` seconds) for that to be normal again; the probe's result is printed with the table.

Usage: ``python benchmarks/bench_render.py [--runs 5] [--sizes 100,1000,3000] [--check]``
(``make bench-render`` runs it with the defaults). ``--check`` exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:  # run as a script from a checkout without `pip install -e`
    sys.path.insert(0, str(PROJECT_ROOT))

ALL_ENVS = ("dev", "stg", "prod")
ESTATES_DIR = PROJECT_ROOT / "benchmarks" / ".estates"
TARGET_SECONDS = 3.0  # render -o, 1,000 endpoints x 3 environments, median, cold
TARGET_RATIO = 5.0  # objects/s of render -o over objects/s of kustomize, 1,000 endpoints x 3
TARGET_SIZE = 1000
ONE_ENV_SHARE = (0.25, 0.45)  # --env prod / all three: "about a third"
STAGES = ("import", "load", "schema", "resolve", "checks", "render", "emit/layout", "write")


@dataclass(frozen=True)
class Timing:
    label: str
    objects: int
    times: list[float]

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def rate(self) -> float:
        return self.objects / self.median


@dataclass
class SizeResult:
    size: int
    render: Timing
    prod: Timing
    kustomize: Timing | None = None
    kustomize_top: Timing | None = None
    # (waited s, s per file created)
    probes: list[tuple[float, float]] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        return None if self.kustomize is None else self.render.rate / self.kustomize.rate

    @property
    def prod_share(self) -> float:
        return self.prod.median / self.render.median


def child_environment() -> dict[str, str]:
    """The children must import this checkout's `compiler` and `llmops`, installed or not.

    PYTHONDONTWRITEBYTECODE is dropped so that the untimed warm-up leaves .pyc files behind, as an
    installed package has them; otherwise every timed run would compile the sources again.
    The render cache is off: every run here is cold (the warm-up would otherwise fill the cache
    and each timed run be a hit; `bench_cache.py` measures the cache).
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    for name in ("LLMOPS_DEBUG", "PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME"):
        env.pop(name, None)
    env["NO_COLOR"] = "1"
    env["LLMOPS_CACHE_DIR"] = "off"
    return env


# -- estates
# -------------------------------------------------------------------------------------------


def _generator_stamp(size: int) -> str:
    source = (PROJECT_ROOT / "benchmarks" / "generate_estate.py").read_bytes()
    return f"{size} {hashlib.sha256(source).hexdigest()}\n"


def cached_estate(workdir: Path, size: int) -> Path:
    """The estate of ``size`` endpoints in dev, stg and prod, generated unless a current copy
    exists."""
    # not at the top: the stage child times imports
    from benchmarks.generate_estate import generate_estate

    root = workdir / f"estate-{size}"
    stamp = root / ".generated"
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == _generator_stamp(size):
        return root
    if root.exists():
        shutil.rmtree(root)
    generate_estate(root, size, ALL_ENVS)
    stamp.write_text(_generator_stamp(size), encoding="utf-8")
    return root


# -- timed runs
# ----------------------------------------------------------------------------------------


def render_argv(root: Path, out: Path, env: str | None) -> list[str]:
    return [
        sys.executable,
        "-m",
        "llmops.cli.main",
        "render",
        str(root),
        "-o",
        str(out),
        *(["--env", env] if env else []),
    ]


def rendered_objects(out: Path) -> int:
    """Objects in a render's output: every file its kustomization.yaml files list."""
    total = 0
    for index in out.glob("*/kustomization.yaml"):
        total += sum(
            1 for line in index.read_text(encoding="utf-8").splitlines() if line.startswith("  - ")
        )
    return total


def time_render(
    label: str, root: Path, env: str | None, runs: int, scratch: Path
) -> tuple[Timing, Path]:
    """One untimed warm-up (file cache, .pyc), then ``runs`` cold processes, each into a new
    directory (under ``scratch``, kept until the script ends: see the module's docstring).

    Returns the timing and the warm-up's output (for kustomize).
    """
    child_env = child_environment()
    kept = scratch / f"warmup-{env or 'all'}"
    warmup = subprocess.run(
        render_argv(root, kept, env),
        capture_output=True,
        text=True,
        env=child_env,
        cwd=PROJECT_ROOT,
    )
    if warmup.returncode != 0:
        raise SystemExit(
            f"{label}: render exited {warmup.returncode}\n{warmup.stdout}{warmup.stderr}"
        )
    times = []
    for run in range(runs):
        out = scratch / f"run-{env or 'all'}-{run}"
        start = time.perf_counter()
        subprocess.run(
            render_argv(root, out, env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=child_env,
            cwd=PROJECT_ROOT,
            check=True,
        )
        times.append(time.perf_counter() - start)
    return Timing(label, rendered_objects(kept), times), kept


def _kustomize(directory: Path, sink: Path) -> tuple[float, int]:
    """Build one kustomization into a file; return the seconds the kubectl process took and the
    number of objects it printed (counted afterwards, untimed)."""
    with open(sink, "wb") as stream:
        start = time.perf_counter()
        subprocess.run(["kubectl", "kustomize", str(directory)], stdout=stream, check=True)
        elapsed = time.perf_counter() - start
    with open(sink, "rb") as stream:
        return elapsed, sum(1 for line in stream if line.startswith(b"kind: "))


def time_kustomize(
    label: str, output: Path, runs: int, scratch: Path, top_level: bool = False
) -> Timing:
    """Build the objects of ``output`` with kubectl kustomize, ``runs`` times.

    Per directory (the default): `kubectl kustomize DIR/<group>` for every group directory, one
    after the other, each a fresh kubectl process; a run's time is their sum. ``top_level``: one
    `kubectl kustomize` of a kustomization listing every group directory. Kustomize is a compiled
    binary with nothing to warm up, and the files were just written (page cache), so no untimed run.
    """
    groups = sorted(index.parent for index in output.glob("*/kustomization.yaml"))
    if top_level:
        top = scratch / "top"
        top.mkdir(exist_ok=True)
        (top / "kustomization.yaml").write_text(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
            + "".join(f"  - {os.path.relpath(group, top)}\n" for group in groups),
            encoding="utf-8",
        )
        groups = [top]
    expected = rendered_objects(output)
    times = []
    for _ in range(runs):
        elapsed = 0.0
        objects = 0
        for group in groups:
            seconds, count = _kustomize(group, scratch / "kustomize.out")
            elapsed += seconds
            objects += count
        if objects != expected:
            raise SystemExit(f"{label}: kustomize built {objects} objects, render wrote {expected}")
        times.append(elapsed)
    return Timing(label, expected, times)


def measure_size(
    workdir: Path,
    size: int,
    runs: int,
    kustomize_runs: int,
    kustomize: bool,
    kustomize_top: bool,
    scratch: Path,
    settle: float,
) -> SizeResult:
    root = cached_estate(workdir, size)
    scratch = scratch / f"estate-{size}"
    scratch.mkdir()
    settled = [wait_for_file_creation(scratch, settle)]
    render, output = time_render(f"{size:,} x 3 envs: render -o", root, None, runs, scratch)
    settled.append(wait_for_file_creation(scratch, settle))
    prod, _ = time_render(f"{size:,} x 3 envs: render --env prod -o", root, "prod", runs, scratch)
    result = SizeResult(size, render, prod, probes=settled)
    if kustomize:
        result.kustomize = time_kustomize(
            f"{size:,} x 3 envs: kustomize, per dir", output, kustomize_runs, scratch
        )
    if kustomize_top:
        result.kustomize_top = time_kustomize(
            f"{size:,} x 3 envs: kustomize, top-level",
            output,
            kustomize_runs,
            scratch,
            top_level=True,
        )
    return result


# -- file creation, as the kernel lets us
# --------------------------------------------------------------

PROBE_FILES = 500
# per file; a quiet ext4 here takes 10-30 µs, right after a large rm 200+
NORMAL_CREATE_SECONDS = 60e-6


def probe_file_creation(scratch: Path) -> float:
    """Seconds per file to create and write small files in a new directory under ``scratch``
    (the files are kept: deleting them would slow the next creations)."""
    probe = Path(tempfile.mkdtemp(prefix="probe-", dir=scratch))
    data = b"x" * 1500
    start = time.perf_counter()
    for index in range(PROBE_FILES):
        descriptor = os.open(
            probe / f"probe-file-number-{index:05d}.yaml",
            os.O_WRONLY | os.O_CREAT | os.O_EXCL,
            0o600,
        )
        os.write(descriptor, data)
        os.close(descriptor)
    return (time.perf_counter() - start) / PROBE_FILES


def wait_for_file_creation(scratch: Path, settle: float) -> tuple[float, float]:
    """Wait (at most ``settle`` seconds) until creating a file takes its normal time again.
    Returns (seconds waited, seconds per file at the last probe)."""
    started = time.perf_counter()
    while True:
        per_file = probe_file_creation(scratch)
        waited = time.perf_counter() - started
        if per_file <= NORMAL_CREATE_SECONDS or waited >= settle:
            return waited, per_file
        time.sleep(min(5.0, max(0.0, settle - waited)))


def print_table(results: list[SizeResult], runs: int, kustomize_runs: int) -> None:
    print(
        f"cold `llmops render -o DIR` (fresh interpreter, new DIR; {runs} runs each) and "
        f"`kubectl kustomize` on the same objects ({kustomize_runs} run(s) each)"
    )
    header = (
        f"{'case':<40} {'objects':>8} {'min s':>8} {'median s':>9} {'objects/s':>10} "
        f"{'ms/obj':>7}  vs kustomize"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        for timing in (result.render, result.prod, result.kustomize, result.kustomize_top):
            if timing is None:
                continue
            note = ""
            if timing is result.render and result.kustomize is not None:
                note = f"{result.ratio:.1f}x the objects/s"
            elif timing is result.prod:
                note = f"({100 * result.prod_share:.0f} % of the time of all three)"
            elif timing is result.kustomize_top and result.kustomize is not None:
                note = (
                    f"({result.kustomize_top.median / result.kustomize.median:.1f}x the time of "
                    "per dir)"
                )
            print(
                f"{timing.label:<40} {timing.objects:>8,} {timing.best:>8.3f} "
                f"{timing.median:>9.3f} {timing.rate:>10,.0f} "
                f"{1000 * timing.median / timing.objects:>7.3f}  {note}"
            )
    print(
        "\nfile creation before each case (waited s / µs per file; normal here is 10-30 µs): "
        + "; ".join(
            f"{result.size:,}: "
            + ", ".join(f"{waited:.0f}/{1e6 * per_file:.0f}" for waited, per_file in result.probes)
            for result in results
        )
    )
    if len(results) > 1:
        first = results[0]
        print(
            "growth (render -o, medians): "
            + "; ".join(
                f"{result.size:,}: {result.render.objects / first.render.objects:.1f}x the "
                f"objects, {result.render.median / first.render.median:.1f}x the time"
                for result in results[1:]
            )
            + " (start-up and imports are a fixed ~0.2 s)"
        )


# -- per-stage breakdown, measured in a fresh child process (``--stages-of``)
# ------------------------


def _stages_child(root: Path, out: Path, env: str | None) -> dict[str, float]:
    """Time each stage of `llmops render -o` once, cold, in the order the command runs them."""
    times: dict[str, float] = {}

    def timed(stage: str, call: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        result = call()
        times[stage] = times.get(stage, 0.0) + time.perf_counter() - start
        return result

    start = time.perf_counter()
    from compiler.check.runner import run_checks
    from compiler.load.estate import load_estate
    from compiler.load.tree import DirectoryTree
    from compiler.pipeline import validate_manifests
    from compiler.render.estate import render_estate
    from compiler.resolve.estate import resolve_estate
    from llmops.cli.render import output_plan
    from llmops.render_output import write_output

    times["import"] = time.perf_counter() - start

    tree = DirectoryTree(root)
    # as `llmops render` runs: the collector is paused while the estate is built and rendered
    gc.disable()
    loaded = timed("load", lambda: load_estate(tree, env))
    manifests, broken, gaps, schema_diagnostics = timed(
        "schema", lambda: validate_manifests(loaded)
    )
    estate = timed(
        "resolve", lambda: resolve_estate(tree, loaded.environments, manifests, broken, gaps)
    )
    diagnostics = timed("checks", lambda: run_checks(estate))
    if loaded.diagnostics or schema_diagnostics or diagnostics:
        raise SystemExit(f"{root}: the estate has diagnostics; the benchmark needs a clean one")
    rendered = timed("render", lambda: render_estate(estate, include_argocd=env is None))
    plan = timed("emit/layout", lambda: output_plan(rendered))
    timed("write", lambda: write_output(out, plan))
    gc.enable()
    times["objects"] = float(sum(len(objects) for objects in rendered.groups.values()))
    return times


def stage_breakdown(
    root: Path, env: str | None, runs: int, scratch: Path, settle: float
) -> dict[str, float]:
    """Per stage, the fastest of ``runs`` fresh processes (each writing into a new directory)."""
    best: dict[str, float] = {}
    scratch = scratch / ("stages-" + (env or "all"))
    scratch.mkdir()
    wait_for_file_creation(scratch, settle)
    for run in range(runs + 1):  # the first run warms the .pyc and file caches and is not counted
        argv = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--stages-of",
            str(root),
            "--out",
            str(scratch / f"out-{run}"),
        ]
        if env:
            argv += ["--env", env]
        child = subprocess.run(
            argv, capture_output=True, text=True, env=child_environment(), cwd=PROJECT_ROOT
        )
        if child.returncode != 0:
            raise SystemExit(f"stage breakdown failed:\n{child.stdout}{child.stderr}")
        if run == 0:
            continue
        for stage, seconds in json.loads(child.stdout).items():
            best[stage] = min(best.get(stage, seconds), seconds)
    return best


def interpreter_startup(runs: int) -> float:
    """A bare `python -c pass`: the part of every cold run no change to llmops can remove."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, env=child_environment())
        times.append(time.perf_counter() - start)
    return min(times)


def print_stages(size: int, stages: dict[str, float], startup: float) -> None:
    total = sum(stages[stage] for stage in STAGES)
    print(
        f"\nstages of `render -o` for {size:,} endpoints x 3 envs ({int(stages['objects']):,} "
        "objects; fastest of each, in-process, cold):"
    )
    for stage in STAGES:
        print(f"  {stage:<12} {stages[stage]:>7.3f} s  {100 * stages[stage] / total:>5.1f} %")
    print(f"  {'total':<12} {total:>7.3f} s  (plus {startup:.3f} s interpreter start-up)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark cold `llmops render -o` against `kubectl kustomize`."
    )
    parser.add_argument(
        "--runs", type=int, default=5, help="timed render runs per case (default: 5)"
    )
    parser.add_argument(
        "--sizes", default="100,1000,3000", help="endpoint counts (default: 100,1000,3000)"
    )
    parser.add_argument(
        "--kustomize-sizes",
        default="100,1000",
        help="sizes also built with kubectl kustomize (default: 100,1000; its time grows "
        "with the square of the objects per directory: 3,000 takes many minutes)",
    )
    parser.add_argument(
        "--kustomize-runs", type=int, default=1, help="timed kustomize runs (default: 1)"
    )
    parser.add_argument(
        "--kustomize-top",
        default="100",
        help="sizes also built through one top-level kustomization (default: 100)",
    )
    parser.add_argument(
        "--stage-runs", type=int, default=3, help="processes for the stage breakdown (default: 3)"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=ESTATES_DIR,
        help="where generated estates are cached (default: benchmarks/.estates)",
    )
    parser.add_argument(
        "--scratch",
        type=Path,
        default=None,
        help="where rendered output goes, in a temporary directory removed at the end "
        "(default: the system's temporary directory)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=40.0,
        help="seconds to wait at most for file creation to be quick again (default: 40)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--stages-of", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--env", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stages_of is not None:
        print(json.dumps(_stages_child(args.stages_of, args.out, args.env)))
        return 0

    def sizes_of(text: str) -> list[int]:
        return [int(size) for size in text.split(",") if size]

    sizes = sizes_of(args.sizes)
    kustomize_sizes, top_sizes = sizes_of(args.kustomize_sizes), sizes_of(args.kustomize_top)
    has_kubectl = shutil.which("kubectl") is not None
    if not has_kubectl:
        print("kubectl is not installed: no kustomize comparison")
    args.workdir.mkdir(parents=True, exist_ok=True)
    for size in sizes:  # generated up front: writing estates is not what is measured
        cached_estate(args.workdir, size)
    with tempfile.TemporaryDirectory(prefix="llmops-bench-render-", dir=args.scratch) as temporary:
        scratch = Path(temporary)
        results = [
            measure_size(
                args.workdir,
                size,
                args.runs,
                args.kustomize_runs,
                has_kubectl and size in kustomize_sizes,
                has_kubectl and size in top_sizes,
                scratch,
                args.settle,
            )
            for size in sizes
        ]
        print_table(results, args.runs, args.kustomize_runs)
        if TARGET_SIZE in sizes:
            stages = stage_breakdown(
                cached_estate(args.workdir, TARGET_SIZE),
                None,
                args.stage_runs,
                scratch,
                args.settle,
            )
            print_stages(TARGET_SIZE, stages, interpreter_startup(args.stage_runs))
        print(f"\nremoving {scratch} (creating files is slower for about 30 s after this)")

    missed = []
    for result in results:
        if result.size != TARGET_SIZE:
            continue
        verdicts = [
            (f"render -o <= {TARGET_SECONDS:.1f} s", result.render.median <= TARGET_SECONDS),
            (
                f"--env prod {ONE_ENV_SHARE[0]:.2f}..{ONE_ENV_SHARE[1]:.2f} of all",
                ONE_ENV_SHARE[0] <= result.prod_share <= ONE_ENV_SHARE[1],
            ),
        ]
        if result.ratio is not None:
            verdicts.append(
                (f">= {TARGET_RATIO:.0f}x kustomize's objects/s", result.ratio >= TARGET_RATIO)
            )
        print(f"\ntargets ({TARGET_SIZE:,} endpoints x 3 envs, medians):")
        for label, met in verdicts:
            print(f"  {label:<36} {'ok' if met else 'MISSED'}")
            if not met:
                missed.append(label)
    return 1 if missed and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
