"""Golden files: exactly what `llmops render -o DIR` writes for the bundled estate.

`tests/golden/render/<group>/<file>` holds every file of the render (one per object, plus each
group's kustomization.yaml). A difference is a change of rendered output: review it, then regenerate
with

    LLMOPS_UPDATE_GOLDEN=1 python -m pytest tests/compiler/render/test_golden.py

and commit the golden files with the change that caused them.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
from pathlib import Path

import pytest

from compiler.render.estate import render_estate
from llmops.cli.render import output_plan
from llmops.render_record import RECORD_FILE
from tests.helpers.estate import PROJECT_ROOT, copy_bundled_estate, run_cli, validate

GOLDEN = PROJECT_ROOT / "tests" / "golden" / "render"
# Example estates with golden files of their own, tests/golden/<name> for examples/<name>: LoRA
# adapters, a model canary, the LLMInferenceService backend and its canary in a route group.
GOLDEN_EXAMPLES = ("adapters", "canary", "llm_inference_service", "llm_inference_service_canary")
UPDATE = os.environ.get("LLMOPS_UPDATE_GOLDEN") == "1"


def files_under(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def render_to(directory: Path, estate: Path) -> dict[str, bytes]:
    """The rendered files (the record of what was written is checked, then left out: it is not
    output)."""
    result = run_cli("render", str(estate), "-o", str(directory))
    assert result.exit_code == 0, result.stderr
    written = files_under(directory)
    record = json.loads(written.pop(RECORD_FILE))["files"]
    assert sorted(record) == sorted(written)
    return written


def assert_golden(written: dict[str, bytes], golden_dir: Path) -> None:
    if UPDATE:
        shutil.rmtree(golden_dir, ignore_errors=True)
        for relative, content in written.items():
            (golden_dir / relative).parent.mkdir(parents=True, exist_ok=True)
            (golden_dir / relative).write_bytes(content)
    golden = files_under(golden_dir)
    assert sorted(written) == sorted(golden), (
        "the set of rendered files changed (LLMOPS_UPDATE_GOLDEN=1 to accept)"
    )
    differences = []
    for relative in sorted(golden):
        if written[relative] != golden[relative]:
            diff = difflib.unified_diff(
                golden[relative].decode().splitlines(),
                written[relative].decode().splitlines(),
                f"golden/{relative}",
                f"rendered/{relative}",
                lineterm="",
            )
            differences.append("\n".join(diff))
    assert not differences, "\n\n".join(differences) + "\n\n(LLMOPS_UPDATE_GOLDEN=1 to accept)"


def test_render_output_matches_the_golden_files(tmp_path: Path) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    assert_golden(render_to(tmp_path / "out", estate), GOLDEN)


def _example(name: str, tmp_path: Path) -> Path:
    estate = tmp_path / "estate"
    shutil.copytree(PROJECT_ROOT / "examples" / name / "environments", estate / "environments")
    return estate


@pytest.mark.parametrize("name", GOLDEN_EXAMPLES)
def test_an_example_matches_its_golden_files(name: str, tmp_path: Path) -> None:
    estate = _example(name, tmp_path)
    assert_golden(render_to(tmp_path / "out", estate), PROJECT_ROOT / "tests" / "golden" / name)


@pytest.mark.parametrize("name", GOLDEN_EXAMPLES)
def test_the_api_server_would_accept_an_example(name: str, tmp_path: Path) -> None:
    result = run_cli("render", str(_example(name, tmp_path)), "--verify")
    assert result.exit_code == 0, result.stdout + result.stderr


def test_every_example_estate_has_golden_files() -> None:
    """A new example estate is reviewed as rendered output too (the CI and walkthrough examples
    carry no environments of their own)."""
    estates = {path.parent.name for path in (PROJECT_ROOT / "examples").glob("*/environments")}
    assert estates == set(GOLDEN_EXAMPLES)


def test_golden_files_are_the_output_plan(tmp_path: Path) -> None:
    """The in-process plan is the same as the files the command writes (and the golden files)."""
    estate = copy_bundled_estate(tmp_path)
    plan = output_plan(render_estate(validate(estate).estate))
    assert {relative: text.encode("utf-8") for relative, text in plan.files.items()} == files_under(
        GOLDEN
    )
    assert plan.directories == ["dev", "prod", "stg", "_argocd"]
