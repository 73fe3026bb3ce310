"""Time what Argo CD and CI pay per call: cold `llmops validate` of the bundled estate, `render
--env prod` against all three environments, renders with the render cache (cold, unchanged, one
file changed), one environment's render as an Argo CD Application refreshes it, and how much of a
cold render the warm ones cost.

Every timing is a fresh interpreter running what the installed `llmops` script runs, after an
untimed warm-up that leaves the `.pyc` files an installed package has. Both wall time and the
child's CPU time (user + system) are reported: on a machine shared with other work the wall time
swings with the load, the CPU time far less.

``--trees A,B`` times the same cases with the source trees A and B (each the working directory of
its runs, which `python -c` puts first on sys.path, and first on PYTHONPATH), alternating run by
run, so a before/after comparison on a busy machine sees the same load.

Usage: ``python benchmarks/bench_cache.py [--runs 15] [--sizes 100,1000,3000]
[--trees OLD,NEW] [--cases validate,prod,cache,argo,server]`` (``server`` is not among the
default cases: it needs a tree with the warm server)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:  # run as a script from a checkout without `pip install -e`
    sys.path.insert(0, str(PROJECT_ROOT))

ESTATES_DIR = PROJECT_ROOT / "benchmarks" / ".estates"
MAX_REPLICAS = re.compile(r"^  maxReplicas: (\d+)$", re.MULTILINE)


@dataclass
class Samples:
    """Wall and CPU seconds of the runs of one case with one tree."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def row(self) -> str:
        return (
            f"{statistics.median(self.wall):8.3f} {min(self.wall):8.3f} "
            f"{statistics.median(self.cpu):8.3f} {min(self.cpu):8.3f}"
        )


def child_environment(tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), env.get("PYTHONPATH")]))
    for name in ("LLMOPS_DEBUG", "PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME"):
        env.pop(name, None)
    env["NO_COLOR"] = "1"
    env["LLMOPS_CACHE_DIR"] = "off"  # cold unless a case passes --cache-dir
    return env


def run_child(argv: list[str], tree: Path) -> None:
    """An untimed child with ``tree``'s code; it must succeed."""
    subprocess.run(argv, env=child_environment(tree), cwd=tree, check=True, capture_output=True)


def timed_run(argv: list[str], env: dict[str, str], tree: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one child process, run in ``tree`` (`python -c` puts the working
    directory first on sys.path, before PYTHONPATH and the editable install); it must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    completed = subprocess.run(argv, env=env, cwd=tree, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise SystemExit(f"{argv} exited {completed.returncode}:\n{completed.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


# What the installed `llmops` script runs (its entry point, llmops/cli/launch.py: a served command's
# client imports no more than it needs), from the tree that is the working directory.
ENTRY_POINT = "import sys; from llmops.cli.launch import entrypoint; sys.exit(entrypoint())"


def llmops(*arguments: str) -> list[str]:
    return [sys.executable, "-c", ENTRY_POINT, *arguments]


@dataclass
class Case:
    """A command line; ``prepare`` runs untimed before each run (a new output directory, a file
    to change). With a ``server`` (a folder), the command runs in a warm server of the tree's
    code listening there (`LLMOPS_SERVER`): its CPU time for the command counts too."""

    label: str
    argv: Callable[[int], list[str]]
    prepare: Callable[[int, Path], None] = lambda run, tree: None
    server: Path | None = None


def measure(cases: list[Case], trees: list[Path], runs: int) -> dict[tuple[str, Path], Samples]:
    results: dict[tuple[str, Path], Samples] = {}
    for case in cases:
        for tree in trees:  # warm-up: .pyc files, page cache (and a server started)
            case.prepare(-1, tree)
            timed_case(case, -1, tree)
        for run in range(runs):
            for tree in trees:
                case.prepare(run, tree)
                wall, cpu = timed_case(case, run, tree)
                samples = results.setdefault((case.label, tree), Samples())
                samples.wall.append(wall)
                samples.cpu.append(cpu)
    return results


def timed_case(case: Case, run: int, tree: Path) -> tuple[float, float]:
    env = child_environment(tree)
    if case.server is None:
        return timed_run(case.argv(run), env, tree)
    socket_path = server_socket(case.server, tree)
    env["LLMOPS_SERVER"] = str(socket_path)
    if not socket_path.exists():  # the first command starts it, and runs in its own process
        run_child_with(case.argv(run), env, tree)
        wait_for(socket_path.exists, f"a server at {socket_path}")
    before = server_cpu(socket_path)
    wall, cpu = timed_run(case.argv(run), env, tree)
    # what the server does after its answer (freeing the command's objects) counts too
    return wall, cpu + settled_server_cpu(socket_path) - before


def server_socket(folder: Path, tree: Path) -> Path:
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / f"{tree.name}.sock"


def run_child_with(argv: list[str], env: dict[str, str], tree: Path) -> None:
    subprocess.run(argv, env=env, cwd=tree, check=True, capture_output=True)


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"waited {seconds} s for {what}")
        time.sleep(0.05)


def server_pid(socket_path: Path) -> int:
    return int(Path(f"{socket_path}.lock").read_text().strip())


def server_cpu(socket_path: Path) -> float:
    """CPU seconds the server process has run (every thread, in nanoseconds)."""
    task = Path(f"/proc/{server_pid(socket_path)}/task")
    return sum(int((t / "schedstat").read_text().split()[0]) for t in task.iterdir()) / 1e9


def settled_server_cpu(socket_path: Path) -> float:
    """The server's CPU seconds once it stopped running (it frees a command's objects after it
    answered)."""
    last = server_cpu(socket_path)
    while True:
        time.sleep(0.05)
        now = server_cpu(socket_path)
        if now - last < 0.001:
            return now
        last = now


def stop_servers(folder: Path) -> None:
    for socket_path in folder.glob("*.sock") if folder.is_dir() else []:
        stop_server(socket_path)


def stop_server(socket_path: Path) -> None:
    """Stop the server listening at ``socket_path``, if any, and wait until it has ended."""
    with contextlib.suppress(OSError, ValueError):
        os.kill(server_pid(socket_path), signal.SIGTERM)
    wait_for(lambda: not socket_path.exists(), f"the server at {socket_path} to end")


def render_cases(estate: Path, scratch: Path, size: int) -> list[Case]:
    def out(name: str) -> Callable[[int], list[str]]:
        return lambda run: ["-o", str(scratch / f"{name}-{size}-{run}-{random.random()}")]

    return [
        Case(
            f"{size:,}: render -o (all)", lambda run: llmops("render", str(estate), *out("a")(run))
        ),
        Case(
            f"{size:,}: render --env prod -o",
            lambda run: llmops("render", str(estate), "--env", "prod", *out("p")(run)),
        ),
        # the same without writing files, whose cost on a busy disk swings more than the render's
        Case(f"{size:,}: render (stdout, all)", lambda run: llmops("render", str(estate))),
        Case(
            f"{size:,}: render --env prod (stdout)",
            lambda run: llmops("render", str(estate), "--env", "prod"),
        ),
    ]


def bump_max_replicas(target: Path) -> None:
    """A change of value, not only of bytes: the file's first endpoint's `maxReplicas` (which its
    Deployment and the proxy's configuration carry) goes up by one, or back to 2 after 8."""
    text = target.read_text()
    found = MAX_REPLICAS.search(text)
    if found is None:
        raise SystemExit(f"{target}: no maxReplicas to change")
    replicas = int(found[1]) + 1 if int(found[1]) < 8 else 2
    target.write_text(f"{text[: found.start(1)]}{replicas}{text[found.end(1) :]}")


def argo_cases(estate: Path, scratch: Path, size: int) -> list[Case]:
    """What one Argo CD Application (one environment) pays per refresh: `render --env prod` to
    stdout, as `cmp generate` runs it, without the cache, with it when nothing changed, after a
    change to one of prod's endpoint files, and after a change to one of dev's (a commit for
    another Application, which refreshes this one too)."""
    cache = scratch / f"argo-cache-{size}"
    copy = scratch / f"argo-estate-{size}"
    shutil.copytree(estate, copy)
    files = {
        env: sorted((copy / "environments" / env / "serving").glob("*.yaml"))
        for env in ("prod", "dev")
    }

    def prod(run: int) -> list[str]:
        return llmops("render", str(copy), "--env", "prod", "--cache-dir", str(cache))

    def filled(run: int, tree: Path) -> None:  # by the tree timed next: code is part of the key
        run_child(prod(run), tree)

    def changed(env: str) -> Callable[[int, Path], None]:
        def prepare(run: int, tree: Path) -> None:
            filled(run, tree)
            bump_max_replicas(files[env][run % len(files[env])])

        return prepare

    return [
        Case(f"{size:,}: render --env prod, no cache", lambda run: prod(run)[:-2]),
        Case(f"{size:,}: render --env prod, cache, unchanged", prod, filled),
        Case(f"{size:,}: render --env prod, cache, a prod file changed", prod, changed("prod")),
        Case(f"{size:,}: render --env prod, cache, a dev file changed", prod, changed("dev")),
    ]


def cache_cases(estate: Path, scratch: Path, size: int) -> list[Case]:
    """Cold (no cache, or an empty one), unchanged (the cache holds this very estate) and one file
    changed (a different endpoint file of prod each run: its first endpoint's `maxReplicas`, which
    its Deployment and the proxy's configuration carry, goes up by one, or back to 2 after 8), to
    stdout (as `cmp generate`) and with -o: into a new DIR (every file created), and into the DIR
    of the run before (as CI re-renders a checked-out folder: only changed files are written)."""
    cache = scratch / f"cache-{size}"
    copy = scratch / f"estate-copy-{size}"
    shutil.copytree(estate, copy)
    prod_files = sorted((copy / "environments" / "prod" / "serving").glob("*.yaml"))
    same_output: dict[Path, Path] = {}  # tree -> the DIR it renders into again

    def render(run: int) -> list[str]:
        output = scratch / f"cached-out-{size}-{run}-{random.random()}"
        return llmops("render", str(copy), "-o", str(output), "--cache-dir", str(cache))

    def stdout(run: int) -> list[str]:
        return llmops("render", str(copy), "--cache-dir", str(cache))

    def empty_cache(run: int, tree: Path) -> None:
        shutil.rmtree(cache, ignore_errors=True)

    def filled_cache(run: int, tree: Path) -> None:
        # rendered with the same tree (code) as the timed run: the code is part of the key
        run_child(render(run), tree)

    def filled_stdout(run: int, tree: Path) -> None:
        run_child(stdout(run), tree)

    def change(run: int) -> None:
        bump_max_replicas(prod_files[run % len(prod_files)])

    def change_one_file(run: int, tree: Path) -> None:
        filled_cache(run, tree)
        change(run)

    def change_one_file_stdout(run: int, tree: Path) -> None:
        filled_stdout(run, tree)
        change(run)

    def into_same(tree: Path) -> list[str]:
        output = same_output.setdefault(tree, scratch / f"same-out-{size}-{tree.name}")
        return llmops("render", str(copy), "-o", str(output), "--cache-dir", str(cache))

    current: list[Path] = []  # the tree of the timed run (its DIR)

    def change_one_file_same(run: int, tree: Path) -> None:
        current[:] = [tree]
        run_child(into_same(tree), tree)
        change(run)

    return [
        Case(f"{size:,}: render -o, no cache", lambda run: render(run)[:-2]),
        Case(f"{size:,}: render (stdout), no cache", lambda run: stdout(run)[:-2]),
        Case(f"{size:,}: render -o, cache empty", render, empty_cache),
        Case(f"{size:,}: render -o, cache, unchanged", render, filled_cache),
        Case(f"{size:,}: render (stdout), cache, unchanged", stdout, filled_stdout),
        Case(f"{size:,}: render -o, cache, one file changed", render, change_one_file),
        Case(
            f"{size:,}: render -o same DIR, cache, one file changed",
            lambda run: into_same(current[0]),
            change_one_file_same,
        ),
        Case(f"{size:,}: render (stdout), cache, one file changed", stdout, change_one_file_stdout),
    ]


def server_cases(estate: Path, scratch: Path, size: int) -> list[Case]:
    """The render cache's and Argo CD's warm cases with the warm server (`LLMOPS_SERVER`), beside
    the cold render in a process of its own they are a share of: all three to stdout, unchanged
    and after one of prod's files changed (a different one each run), and `--env prod` the same."""
    cache = scratch / f"server-cache-{size}"
    copy = scratch / f"server-estate-{size}"
    shutil.copytree(estate, copy)
    servers = scratch / "servers"
    prod_files = sorted((copy / "environments" / "prod" / "serving").glob("*.yaml"))

    def everything(run: int) -> list[str]:
        return llmops("render", str(copy), "--cache-dir", str(cache))

    def prod(run: int) -> list[str]:
        return llmops("render", str(copy), "--env", "prod", "--cache-dir", str(cache))

    def filled(command: Callable[[int], list[str]]) -> Callable[[int, Path], None]:
        def prepare(run: int, tree: Path) -> None:
            env = child_environment(tree)
            env["LLMOPS_SERVER"] = str(server_socket(servers, tree))
            run_child_with(command(run), env, tree)

        return prepare

    def changed(command: Callable[[int], list[str]]) -> Callable[[int, Path], None]:
        def prepare(run: int, tree: Path) -> None:
            filled(command)(run, tree)
            bump_max_replicas(prod_files[(run + 7) % len(prod_files)])

        return prepare

    def one_env(env: str) -> list[str]:
        return llmops("render", str(copy), "--env", env)

    def after_dev_and_stg(run: int, tree: Path) -> None:
        """A new server that has rendered dev and stg (so it holds `_shared` and stg), as Argo CD's
        other Applications leave it; nothing in a render cache."""
        socket_path = server_socket(servers, tree)
        stop_server(socket_path)
        env = child_environment(tree)
        env["LLMOPS_SERVER"] = str(socket_path)
        run_child_with(one_env("dev"), env, tree)  # in its own process; starts the server
        wait_for(socket_path.exists, f"a server at {socket_path}")
        for name in ("dev", "stg"):
            run_child_with(one_env(name), env, tree)

    return [
        Case(f"{size:,}: render (stdout), no cache, own process", lambda run: everything(run)[:-2]),
        Case(f"{size:,}: render --env prod, no cache, own process", lambda run: prod(run)[:-2]),
        Case(
            f"{size:,}: server: render (stdout), no cache",
            lambda run: everything(run)[:-2],
            server=servers,
        ),
        Case(
            f"{size:,}: server: render (stdout), unchanged", everything, filled(everything), servers
        ),
        Case(
            f"{size:,}: server: render (stdout), one file changed",
            everything,
            changed(everything),
            servers,
        ),
        Case(
            f"{size:,}: server: render --env prod, no cache, after dev and stg",
            lambda run: one_env("prod"),
            after_dev_and_stg,
            servers,
        ),
        Case(f"{size:,}: server: render --env prod, unchanged", prod, filled(prod), servers),
        Case(
            f"{size:,}: server: render --env prod, a prod file changed",
            prod,
            changed(prod),
            servers,
        ),
    ]


CASES = {
    "validate": "cold `llmops validate` of the bundled estate",
    "prod": "cold `render` of all three environments and of `--env prod`, -o and stdout",
    "cache": "renders with the render cache: cold, empty, unchanged, one file changed",
    "argo": "`render --env prod` to stdout as one Argo CD Application runs it: no cache, cache "
    "unchanged, a prod file changed, a dev file changed",
    "server": "the same warm renders with the warm server (LLMOPS_SERVER): server CPU counted",
}


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _sizes(text: str) -> list[int]:
    sizes = [int(size) for size in text.split(",") if size]
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("endpoints per environment, comma-separated, each >= 1")
    return sizes


def _cases(text: str) -> set[str]:
    wanted = {case for case in text.split(",") if case}
    unknown = sorted(wanted - CASES.keys())
    if unknown or not wanted:
        raise argparse.ArgumentTypeError(
            f"unknown case {', '.join(unknown) or '(none given)'}: choose from {', '.join(CASES)}"
        )
    return wanted


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--runs", type=_positive, default=15, help="timed runs per case and tree")
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default="100,1000,3000",
        help="endpoints per environment of the generated estates (prod and cache cases)",
    )
    parser.add_argument(
        "--trees",
        default=str(PROJECT_ROOT),
        help="source trees to compare, comma-separated (runs alternate between them)",
    )
    parser.add_argument(
        "--cases",
        type=_cases,
        default="validate,prod,cache,argo",
        help="comma-separated: " + "; ".join(f"{name}: {what}" for name, what in CASES.items()),
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    trees = [Path(tree).resolve() for tree in args.trees.split(",") if tree]
    for tree in trees:
        if not (tree / "llmops" / "cli" / "main.py").is_file():
            raise SystemExit(
                f"--trees: {tree} is not an llmops source tree (no llmops/cli/main.py)"
            )
    wanted: set[str] = args.cases
    # only the render cases read a generated estate: `--cases validate` generates none
    sizes: list[int] = args.sizes if wanted & {"prod", "cache", "argo", "server"} else []
    from benchmarks.bench_render import cached_estate

    estates = {size: cached_estate(ESTATES_DIR, size) for size in sizes}
    with tempfile.TemporaryDirectory(prefix="llmops-bench-cache-") as temporary:
        scratch = Path(temporary)
        cases: list[Case] = []
        if "validate" in wanted:
            cases.append(Case("bundled: validate", lambda run: llmops("validate", ".")))
        for size, estate in estates.items():
            if "prod" in wanted:
                cases.extend(render_cases(estate, scratch, size))
            if "cache" in wanted:
                cases.extend(cache_cases(estate, scratch, size))
            if "argo" in wanted:
                cases.extend(argo_cases(estate, scratch, size))
            if "server" in wanted:
                cases.extend(server_cases(estate, scratch, size))
        try:
            results = measure(cases, trees, args.runs)
        finally:
            stop_servers(scratch / "servers")
        # before the outputs are removed, which takes long on a busy machine
        print(f"{args.runs} runs per case; seconds: wall median, wall min, CPU median, CPU min")
        labels = [_label(case.label, tree, trees) for case in cases for tree in trees]
        width = max(map(len, labels), default=0) + 1
        for case in cases:
            for tree in trees:
                label = _label(case.label, tree, trees)
                print(f"{label:<{width}} {results[(case.label, tree)].row()}", flush=True)
        ratios = [pair for case, pairs in RATIOS.items() if case in wanted for pair in pairs]
        if ratios:
            print_ratios(results, sizes, trees, width, ratios)
    return 0


def _label(label: str, tree: Path, trees: list[Path]) -> str:
    return label + (f"  [{tree.name}]" if len(trees) > 1 else "")


RATIOS = {  # by the case set that times both: (the part, the whole it is a share of)
    "prod": (
        ("render --env prod -o", "render -o (all)"),
        ("render --env prod (stdout)", "render (stdout, all)"),
    ),
    "cache": (
        ("render -o, cache, one file changed", "render -o, no cache"),
        ("render -o same DIR, cache, one file changed", "render -o, no cache"),
        ("render (stdout), cache, one file changed", "render (stdout), no cache"),
        ("render (stdout), cache, unchanged", "render (stdout), no cache"),
    ),
    "argo": (
        ("render --env prod, cache, unchanged", "render --env prod, no cache"),
        ("render --env prod, cache, a prod file changed", "render --env prod, no cache"),
        ("render --env prod, cache, a dev file changed", "render --env prod, no cache"),
    ),
    "server": (
        ("server: render (stdout), no cache", "render (stdout), no cache, own process"),
        ("server: render (stdout), unchanged", "render (stdout), no cache, own process"),
        ("server: render (stdout), one file changed", "render (stdout), no cache, own process"),
        ("render --env prod, no cache, own process", "render (stdout), no cache, own process"),
        (
            "server: render --env prod, no cache, after dev and stg",
            "render (stdout), no cache, own process",
        ),
        ("server: render --env prod, unchanged", "render --env prod, no cache, own process"),
        (
            "server: render --env prod, a prod file changed",
            "render --env prod, no cache, own process",
        ),
    ),
}


def print_ratios(
    results: dict[tuple[str, Path], Samples],
    sizes: list[int],
    trees: list[Path],
    width: int,
    ratios: list[tuple[str, str]],
) -> None:
    """A case's median as a share of another's (wall, CPU): a warm render's of the cold one, and
    one environment's of all three."""
    print("share of a cold render (median wall, median CPU) of the render named after `of`")
    for size in sizes:
        for warm, cold in ratios:
            for tree in trees:
                warm_samples = results[(f"{size:,}: {warm}", tree)]
                cold_samples = results[(f"{size:,}: {cold}", tree)]
                wall = statistics.median(warm_samples.wall) / statistics.median(cold_samples.wall)
                cpu = statistics.median(warm_samples.cpu) / statistics.median(cold_samples.cpu)
                label = _label(f"{size:,}: {warm}", tree, trees)
                print(f"{label:<{width}} {wall:8.0%} {cpu:8.0%}  of {cold}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
