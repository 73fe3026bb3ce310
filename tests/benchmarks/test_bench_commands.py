"""The benchmarks measure what they say they measure, and refuse what they cannot run with a
sentence rather than a traceback or an empty table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import bench_cache, bench_render, needs

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_a_cold_render_benchmark_never_uses_the_render_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its warm-up would fill the cache and every timed "cold" run would be a hit (3.5x too fast
    at 100 endpoints), and it would fill the user's own cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("LLMOPS_CACHE_DIR", raising=False)
    env = bench_render.child_environment()
    for run in range(2):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "llmops.cli.main",
                "render",
                ".",
                "-o",
                str(tmp_path / f"{run}"),
            ],
            env=env,
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
        )
    assert not (tmp_path / "xdg").exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--cases", "caches"], "unknown case caches: choose from validate, prod, cache, argo"),
        (["--cases", ","], "unknown case (none given)"),
        (["--runs", "0"], "must be at least 1, not 0"),
        (["--sizes", "0"], "each >= 1"),
    ],
)
def test_the_cache_benchmark_refuses_what_it_cannot_measure(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        bench_cache.parse_arguments(arguments)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_the_cache_benchmark_names_a_tree_that_is_not_llmops(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="is not an llmops source tree"):
        bench_cache.main(["--trees", str(tmp_path), "--cases", "validate", "--runs", "1"])


def test_a_proxy_benchmark_without_the_proxy_extras_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(needs, "PROXY_MODULES", ("orjson", "a_module_nobody_installed"))
    with pytest.raises(SystemExit) as exited:
        needs.require_proxy_extras("soak_proxy.py", "soak-proxy")
    assert str(exited.value).startswith(
        "soak_proxy.py needs the proxy's extras (a_module_nobody_installed missing"
    )
    assert "`make soak-proxy`" in str(exited.value)
    monkeypatch.setattr(needs, "PROXY_MODULES", ("orjson",))
    needs.require_proxy_extras("soak_proxy.py", "soak-proxy")  # all there: nothing said


def test_the_cache_benchmark_runs_what_the_installed_script_runs(tmp_path: Path) -> None:
    """The script's entry point (its client of the warm server imports little), not `python -m
    llmops.cli.main`, which imports the whole command line first: the server's figures would
    count CPU no user pays. Its arguments and exit code pass through."""
    import tomllib

    scripts = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, function = scripts["llmops"].partition(":")
    assert f"from {module} import {function}" in bench_cache.ENTRY_POINT
    done = subprocess.run(
        bench_cache.llmops("validate", str(tmp_path)),
        env=bench_cache.child_environment(PROJECT_ROOT),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "not an llmops estate" in done.stderr
