"""An indentation mistake next to a `|` text block or at the end of a nested mapping gets a hint
that fixes it, never one that turns a key into text or leaves the user guessing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.estate import copy_bundled_estate, run_cli

TEMPLATES = "environments/_shared/prompts/support-templates.yaml"
DEV_ENDPOINT = "environments/dev/serving/example-model.yaml"


def only_error(estate: Path) -> dict[str, Any]:
    result = run_cli("validate", str(estate), "--format", "json")
    (error,) = json.loads(result.stdout)["diagnostics"]
    return dict(error)


def replace_line(estate: Path, relative: str, old: str, new: str) -> None:
    path = estate / relative
    lines = path.read_text(encoding="utf-8").split("\n")
    index = lines.index(old)
    lines[index] = new
    path.write_text("\n".join(lines), encoding="utf-8")


@pytest.mark.parametrize(("spaces", "than"), [(1, "less"), (3, "more")])
def test_a_key_after_a_text_block_is_told_its_siblings_column(
    tmp_path: Path, spaces: int, than: str
) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    replace_line(estate, TEMPLATES, "  variables:", " " * spaces + "variables:")
    error = only_error(estate)
    assert (error["code"], error["line"], error["column"]) == ("Y001", 12, spaces + 1)
    assert error["message"].startswith(
        f"`variables` is indented {than} than its sibling `template` (line 9, column 3)"
    )
    assert error["hint"].startswith("indent `variables` to column 3, like `template`")
    # following the hint fixes the file
    replace_line(estate, TEMPLATES, " " * spaces + "variables:", "  variables:")
    assert run_cli("validate", str(estate)).exit_code == 0


def test_text_under_indented_in_a_block_keeps_the_block_hint(tmp_path: Path) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    old = "    Answer in at most three sentences."
    replace_line(estate, TEMPLATES, old, "   Answer in at most three sentences.")
    error = only_error(estate)
    assert error["hint"] == "indent every line of the block to at least column 5"


@pytest.mark.parametrize(("indent", "where"), [("", "the manifest"), ("  ", "spec")])
def test_a_dedented_last_field_is_told_where_it_belongs(
    tmp_path: Path, indent: str, where: str
) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    replace_line(estate, DEV_ENDPOINT, "    use_gpu: false", f"{indent}use_gpu: false")
    error = only_error(estate)
    assert error["code"] == "S001" and error["message"] == f"unknown field `use_gpu` in {where}"
    assert error["hint"] == (
        "`use_gpu` is a field of spec.deploymentSpec, which ends just above: indented too little? "
        "Indent it to column 5, like the other fields of `deploymentSpec`"
    )


def test_the_only_field_of_an_empty_mapping_dedented_is_led_back_under_it(tmp_path: Path) -> None:
    """`autoscalePolicy:` keeps one field; dedented to column 1 it is a syntax error whose hint
    offers both places, and at its siblings' column (valid YAML, the mapping now empty) it is an
    unknown field whose hint points under the empty mapping. Each hint, followed, is right."""
    estate = copy_bundled_estate(tmp_path / "estate")
    field = "    cpuUtilization: 70"
    replace_line(estate, DEV_ENDPOINT, field, "cpuUtilization: 70")
    result = run_cli("validate", str(estate), "--format", "json")
    diagnostics = json.loads(result.stdout)["diagnostics"]
    (error,) = [found for found in diagnostics if found["severity"] == "error"]
    assert (error["code"], error["line"], error["column"]) == ("Y001", 13, 1)
    assert error["hint"] == (
        "start `cpuUtilization` in column 3, like the keys around it, or in column 5 to put it "
        "under `autoscalePolicy` on line 12, which is empty"
    )
    replace_line(estate, DEV_ENDPOINT, "cpuUtilization: 70", "  cpuUtilization: 70")
    error = only_error(estate)
    assert error["code"] == "S001" and error["hint"] == (
        "`cpuUtilization` is a field of spec.autoscalePolicy, which is empty just above: indented "
        "too little? Indent it to column 5, under `autoscalePolicy`"
    )
    replace_line(estate, DEV_ENDPOINT, "  cpuUtilization: 70", field)
    assert run_cli("validate", str(estate)).exit_code == 0
