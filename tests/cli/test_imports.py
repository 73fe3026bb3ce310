"""`llmops validate` stays a small program: heavy or networked libraries are never imported by it.

Each of these costs start-up time on every run (or pulls in network stacks a validator has no use
for); they belong to other commands or to tests. Checked in a fresh interpreter, since this test
process has imported half of them already.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from llmops import __version__
from llmops.cli.main import COMMANDS
from tests.helpers.estate import PROJECT_ROOT
from tests.test_architecture import imports_of

FORBIDDEN = (
    "jinja2",
    "jsonschema",
    "kubernetes",
    "git",
    "httpx",
    "fastapi",
    "openai",
    "kserve",
    "kubernetes_validate",
    # the last five: `llmops proxy`
    "aiohttp",
    "prometheus_client",
    "uvloop",
    "multidict",
    "yarl",
)

_VALIDATE_AND_LIST_MODULES = """
import contextlib, io, json, runpy, sys
sys.argv = ["llmops", *sys.argv[1:]]
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
    env = {
        **os.environ,
        "NO_COLOR": "1",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])
        ),
    }
    return subprocess.run(
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=60,
        env=env,
    )


def test_validate_imports_none_of_the_heavy_libraries() -> None:
    report = _imports_of("validate", str(PROJECT_ROOT))
    assert report["exit"] == 0, report["output"]
    assert "no problems" in report["output"]
    assert _heavy(report["modules"]) == []


# What a valid estate never needs: the explanations of YAML syntax errors, spelling suggestions,
# the scanner of suppression comments, and the renderers of objects `validate` does not measure.
# The bundled estate has no syntax error, no typo, no suppression and no LLMInferenceService.
NOT_FOR_A_VALID_ESTATE = (
    "compiler.load.yaml_syntax",
    "difflib",
    "compiler.load.comments",
    "compiler.render.kserve",
    "compiler.render.llm_inference_service",
)


def test_validate_of_a_valid_estate_loads_only_what_it_runs() -> None:
    report = _imports_of("validate", str(PROJECT_ROOT))
    assert report["exit"] == 0, report["output"]
    assert [name for name in NOT_FOR_A_VALID_ESTATE if name in report["modules"]] == []


def test_help_imports_no_command_and_none_of_the_heavy_libraries() -> None:
    """`llmops --help` lists every command from the names in main.py, importing none of them."""
    report = _imports_of("--help")
    assert report["exit"] == 0, report["output"]
    assert "validate" in report["output"] and "proxy" in report["output"]
    assert _heavy(report["modules"]) == []
    commands = [f"llmops.cli.{name}" for name in COMMANDS]
    assert [name for name in report["modules"] if name in commands] == []
    assert "llmops.cli.options" not in report["modules"]


def _imports_of(*argv: str) -> dict[str, Any]:
    """Run `llmops ARGV` in a fresh interpreter; its exit code, stdout and every imported module."""
    child = _run("-c", _VALIDATE_AND_LIST_MODULES, *argv)
    assert child.returncode == 0, child.stderr
    report: dict[str, Any] = json.loads(child.stdout)
    return report


def _heavy(modules: list[str]) -> list[str]:
    return [
        name
        for name in modules
        if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN)
    ]


def test_version_runs_as_a_module() -> None:
    child = _run("-m", "llmops.cli.main", "--version")
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == f"llmops {__version__}"


CLUSTER_CLIENT = "llmops.cluster.client"


def _source_files() -> list[Path]:
    return sorted(
        [*(PROJECT_ROOT / "llmops").rglob("*.py"), *(PROJECT_ROOT / "compiler").rglob("*.py")]
    )


def _module_level_imports(path: Path) -> set[str]:
    """Imports a module runs when it is imported (not those inside function bodies)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_only_the_cluster_client_imports_kubernetes() -> None:
    importers = [
        path.relative_to(PROJECT_ROOT).as_posix()
        for path in _source_files()
        if any(name == "kubernetes" or name.startswith("kubernetes.") for name in imports_of(path))
    ]
    assert importers == ["llmops/cluster/client.py"]


def test_the_cluster_client_is_imported_only_when_a_command_runs() -> None:
    """`llmops status` imports it inside the command; no module pulls it (and kubernetes) in on
    import."""
    eager = [
        path.relative_to(PROJECT_ROOT).as_posix()
        for path in _source_files()
        if CLUSTER_CLIENT in _module_level_imports(path)
    ]
    assert eager == []
    lazy = [
        path.relative_to(PROJECT_ROOT).as_posix()
        for path in _source_files()
        if CLUSTER_CLIENT in imports_of(path)
    ]
    # the console's verdicts are `llmops status`'s, read when the proxy serves its first page
    assert lazy == ["llmops/cli/status.py", "llmops/console/verdicts.py"]


_VALIDATE_AND_ASK_PYDANTIC = """
import contextlib, io, runpy, sys
sys.argv = ["llmops", *sys.argv[1:]]
with contextlib.redirect_stdout(io.StringIO()):
    try:
        runpy.run_module("llmops.cli.main", run_name="__main__", alter_sys=True)
    except SystemExit:
        pass
from pydantic.plugin import _loader
print("scanned" if _loader._plugins is not None else "not scanned")
"""


def test_validate_does_not_scan_installed_packages_for_pydantic_plugins() -> None:
    """The scan reads the metadata of every installed package (10-40 ms on a full virtualenv);
    llmops's own models use no plugin."""
    env_without = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    child = subprocess.run(
        [sys.executable, "-c", _VALIDATE_AND_ASK_PYDANTIC, "validate", str(PROJECT_ROOT)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=60,
        env={**env_without, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "not scanned"
