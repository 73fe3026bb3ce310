"""A one-shot command run as a process of its own (`llmops render`, `validate`, `cmp generate`)
keeps the garbage collector paused to its end: resumed, the collector's first pass would walk
everything the command built, only to free what the process's end frees anyway. Output and exit
codes are those of the same command run in-process, where the collector is resumed as before."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from compiler import collector
from compiler.collector import collector_paused, command_ended, process_ends_with_command
from tests.helpers.estate import copy_bundled_estate, run_cli

# Runs the program as its console script does, noting every pass of the collector made once the
# command's module is imported; prints them (JSON, last line of stderr) before the process ends.
_WATCHED = """
import atexit, gc, json, sys
command = "llmops.cli." + sys.argv[1]
passes = []
def note(phase, info):
    if phase == "start" and command in sys.modules:
        passes.append(info["generation"])
gc.callbacks.append(note)
atexit.register(lambda: print(json.dumps(passes), file=sys.stderr))
sys.argv = ["llmops", *sys.argv[1:]]
from llmops.cli.main import entrypoint
entrypoint()
"""


def _watched(argv: list[str], cwd: Path) -> tuple[int, str, str, list[int]]:
    """(exit code, stdout, stderr without the last line, the collector's passes) of `llmops ARGV`
    as a process."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith("LLMOPS_")}
    result = subprocess.run(
        [sys.executable, "-c", _WATCHED, *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**environ, "NO_COLOR": "1", "LLMOPS_CACHE_DIR": "off"},
        timeout=120,
    )
    *stderr, passes = result.stderr.splitlines(keepends=True)
    return result.returncode, result.stdout, "".join(stderr), json.loads(passes)


def _files(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def restored_collector() -> Iterator[None]:
    """The collector as it was, whatever a test leaves."""
    enabled = gc.isenabled()
    yield None
    collector._process_ends = collector._left_paused = False
    gc.unfreeze()
    if enabled:
        gc.enable()


def test_in_process_a_pause_resumes_the_collector(restored_collector: None) -> None:
    with collector_paused(until_exit=True):
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_process_that_ends_keeps_it_paused_until_the_command_ended(
    restored_collector: None,
) -> None:
    process_ends_with_command()
    with collector_paused(until_exit=True):
        with collector_paused():
            pass
        assert not gc.isenabled()
    assert not gc.isenabled()
    with collector_paused():  # a nested pause does not resume it either
        pass
    assert not gc.isenabled()
    command_ended()
    assert gc.isenabled()
    with collector_paused(until_exit=True):  # the next command is not the process's last
        pass
    assert gc.isenabled()


def test_a_pause_without_until_exit_resumes_even_in_a_process_that_ends(
    restored_collector: None,
) -> None:
    process_ends_with_command()
    with collector_paused():
        pass
    assert gc.isenabled()


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv",
    [
        ["render", "--env", "prod"],
        ["render", "-o", "OUT"],
        ["validate"],
        ["validate", "--env", "prod", "--format", "json"],
        ["validate", "--format", "sarif"],  # with errors (below)
    ],
)
def test_a_command_as_a_process_makes_no_pass_and_says_what_it_says_in_process(
    argv: list[str], tmp_path: Path
) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    if "sarif" in argv:
        endpoint = estate / "environments" / "stg" / "serving" / "example-model.yaml"
        endpoint.write_text(endpoint.read_text().replace("minReplicas: 1", "minReplicas: x"))
    process, inside = tmp_path / "as-a-process", tmp_path / "in-process"
    out = [str(process) if word == "OUT" else word for word in argv]
    code, stdout, stderr, passes = _watched([*out, str(estate)], estate)
    assert passes == [], "the collector made a pass after the command started"
    expected = run_cli(*[str(inside) if word == "OUT" else word for word in argv], str(estate))
    assert code == expected.exit_code
    assert stdout.replace(str(process), str(inside)) == expected.stdout
    assert stderr == expected.stderr
    if "OUT" in argv:
        assert _files(process) == _files(inside)
