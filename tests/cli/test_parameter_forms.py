"""A parameter count is read the same in either case: `7b` is `7B` to the schema, the capacity
checks and `explain`; a form llmops does not read is refused with the forms it does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.estate import copy_bundled_estate, run_cli

MODEL_FILE = "environments/_shared/catalog/example-base-model.yaml"


def _with_parameters(root: Path, written: str, *, keep_preset: bool = True) -> None:
    model = root / MODEL_FILE
    text = model.read_text(encoding="utf-8").replace(
        '"parameters": "7B"', f'"parameters": "{written}"'
    )
    if not keep_preset:
        text = text.replace(',\n      "preset": "llama-2-7b"', "")
    model.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("written", ["7b", "7000m", "7000M", "0.007t"])
def test_a_lower_case_or_other_unit_count_validates_like_7B(tmp_path: Path, written: str) -> None:
    root = copy_bundled_estate(tmp_path)
    _with_parameters(root, written)
    result = run_cli("validate", str(root), "--format", "json")
    codes = [d["code"] for d in json.loads(result.stdout)["diagnostics"]]
    # the edit changes the model's digest (its approvals are stale), nothing else
    assert set(codes) <= {"P001", "P002"}, result.stdout


def test_a_lower_case_count_feeds_the_capacity_checks_and_the_preset_it_matches(
    tmp_path: Path,
) -> None:
    root = copy_bundled_estate(tmp_path)
    _with_parameters(root, "7b", keep_preset=False)
    result = run_cli("explain", "example-model", "--env", "dev", str(root))
    assert "weights (CPU)       7,000,000,000 x 2 B x 1.02 = 13.30 GiB" in result.stdout, (
        result.stdout + result.stderr
    )
    assert "llama-2-7b" in result.stdout  # the preset matched by llama and 7b


def test_an_unreadable_count_names_the_accepted_forms(tmp_path: Path) -> None:
    root = copy_bundled_estate(tmp_path)
    _with_parameters(root, "7 billion")
    result = run_cli("validate", str(root))
    assert result.exit_code == 1
    assert "error[S005]: spec.metadata.parameters:" in result.stdout
    assert "K, M, B or T in either case" in result.stdout
    assert "7000000000" in result.stdout
