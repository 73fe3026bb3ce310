"""Two manifests run together (the `---` between them left out) are one mistake: one error that
says where the `---` belongs, never advice to delete one of the manifests, and no error about what
the second manifest defined."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.estate import copy_bundled_estate, run_cli

TEMPLATES = "environments/_shared/prompts/support-templates.yaml"


def test_a_missing_document_separator_is_one_error_with_the_fix(tmp_path: Path) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    path = estate / TEMPLATES
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[13] == "---" and lines[14] == "apiVersion: llmops.io/v1"
    del lines[13]  # the second template now starts on line 14, inside the first document
    path.write_text("\n".join(lines), encoding="utf-8")

    result = run_cli("validate", str(estate), "--format", "json")
    assert result.exit_code == 1
    diagnostics = json.loads(result.stdout)["diagnostics"]
    errors = [d for d in diagnostics if d["severity"] == "error"]
    assert [(d["code"], d["file"], d["line"]) for d in errors] == [("Y002", TEMPLATES, 14)]
    (error,) = errors
    assert "a `---` line is probably missing before line 14" in error["message"]
    assert error["hint"] == (
        "add a line `---` before line 14, so that each manifest is a document of its own"
    )
    assert "keep one" not in error["hint"]
    # the experiment names the lost template: not an error, a note
    (note,) = [d for d in diagnostics if d["code"] == "Y017"]
    assert note["message"].startswith("R003 not checked in environments `dev`, `prod`, `stg`")

    # following the hint fixes it
    lines.insert(13, "---")
    path.write_text("\n".join(lines), encoding="utf-8")
    assert run_cli("validate", str(estate)).exit_code == 0


def test_a_key_twice_inside_a_manifest_keeps_its_own_advice(tmp_path: Path) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    path = estate / TEMPLATES
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("  description: Short", '  version: "2"\n  description: Short', 1),
        encoding="utf-8",
    )
    result = run_cli("validate", str(estate), "--format", "json")
    (error,) = json.loads(result.stdout)["diagnostics"]
    assert error["code"] == "Y002" and error["hint"] == "keep one of the two entries"
