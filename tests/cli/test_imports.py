"""`llmops validate` stays a small program: heavy or networked libraries are never imported by it.

Each of these costs start-up time on every run (or pulls in network stacks a validator has no use
for); they belong to other commands or to tests. Checked in a fresh interpreter, since this test
process has imported half of them already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from llmops import __version__
from tests.helpers.estate import PROJECT_ROOT

FORBIDDEN = ("jinja2", "jsonschema", "kubernetes", "git", "httpx", "fastapi", "openai", "kserve", "click",
             "aiohttp", "prometheus_client", "uvloop", "multidict", "yarl")  # the last five: `llmops proxy`

_VALIDATE_AND_LIST_MODULES = """
import contextlib, io, json, runpy, sys
sys.argv = ["llmops", "validate", sys.argv[1]]
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        runpy.run_module("llmops.cli.main", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as stop:
        code = stop.code
print(json.dumps({"exit": code, "output": out.getvalue(), "modules": sorted(sys.modules)}))
"""


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    """This checkout's llmops in a fresh interpreter, installed or not."""
    env = {**os.environ, "NO_COLOR": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=60,
                          env=env)


def test_validate_imports_none_of_the_heavy_libraries() -> None:
    child = _run("-c", _VALIDATE_AND_LIST_MODULES, str(PROJECT_ROOT))
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout)
    assert report["exit"] == 0, report["output"]
    assert "no problems" in report["output"]
    imported = [name for name in report["modules"]
                if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN)]
    assert imported == []


def test_version_runs_as_a_module() -> None:
    child = _run("-m", "llmops.cli.main", "--version")
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == f"llmops {__version__}"
