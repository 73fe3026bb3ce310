"""The JSON format against the shared sample: parsed, and every field where the sample put it."""

from __future__ import annotations

import json
from typing import Any

from compiler.report.json_format import format_report
from tests.compiler.report import sample_diagnostics as sample


def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(format_report(sample.DIAGNOSTICS, sample.CONTEXT))
    return document


def test_one_entry_per_diagnostic_in_order() -> None:
    entries = _document()["diagnostics"]
    assert [e["code"] for e in entries] == ["R005", "P001", "S005", "Y010", "I001"]
    assert [e["severity"] for e in entries] == ["error", "error", "error", "warning", "info"]


def test_positions_are_one_based_and_files_repo_relative() -> None:
    first = _document()["diagnostics"][0]
    assert (
        first["file"],
        first["line"],
        first["column"],
        first["end_line"],
        first["end_column"],
    ) == (sample.MODEL, 4, 9, 4, 14)
    for entry in _document()["diagnostics"]:
        assert not entry["file"].startswith("/")
        assert entry["line"] >= 1 and entry["column"] >= 1


def test_missing_end_is_null() -> None:
    octal = _document()["diagnostics"][3]
    assert (octal["line"], octal["column"], octal["end_line"], octal["end_column"]) == (
        8,
        9,
        None,
        None,
    )


def test_text_fields_survive_unchanged() -> None:
    tricky = _document()["diagnostics"][2]
    assert tricky["message"] == sample.TRICKY_MESSAGE
    assert tricky["hint"] == sample.TRICKY.hint
    assert tricky["path"] == ["spec", "route"]
    assert tricky["subject"] == "ServingEndpoint/chat"


def test_related_locations() -> None:
    assert _document()["diagnostics"][0]["related"] == [
        {"file": sample.OTHER_MODEL, "line": 4, "column": 9, "message": "first defined here"}
    ]


def test_summary() -> None:
    assert _document()["summary"] == {
        "errors": 3,
        "warnings": 1,
        "infos": 1,
        "suppressed": 0,
        "files": 4,
        "environments": ["dev", "stg"],
    }
