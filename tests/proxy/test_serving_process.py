"""A serving proxy process leaves what it built before listening (modules, configuration,
application) out of the garbage collector's passes: under load a full collection walked all of it
while every request in flight waited (18 ms at a time in `make bench-proxy`). A process that goes
on after serving (a test serving in-process) freezes nothing: what it froze would never be
collected."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers.estate import PROJECT_ROOT

SERVE_THEN_STOP = """
import gc, os, signal, sys
import llmops.cli.main  # what the command sets up before serving
from compiler.collector import process_ends_with_command
from llmops.proxy.app import build_app
from llmops.proxy.config_source import config_from_estate
from llmops.proxy.server import serve

if sys.argv[1] == "ends":
    process_ends_with_command()  # as the `llmops` entry point does

def listening(url):
    print(gc.get_freeze_count(), len(gc.get_objects()), flush=True)
    os.kill(os.getpid(), signal.SIGTERM)  # as Kubernetes stops the pod

serve(build_app(config_from_estate(sys.argv[2], "dev")), "127.0.0.1", 0, listening)
"""


@pytest.mark.parametrize("process", ["ends", "goes on"])
def test_what_serving_built_is_left_out_of_collections(process: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SERVE_THEN_STOP, process, str(PROJECT_ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    frozen, collected = map(int, result.stdout.split())
    if process == "ends":
        # nearly everything: what a full collection walks is what serving makes from then on
        assert frozen > 50_000 and collected < frozen // 100, (frozen, collected)
    else:
        assert frozen == 0
