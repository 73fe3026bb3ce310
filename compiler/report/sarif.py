"""SARIF 2.1.0: one run, for GitHub code scanning and other SARIF viewers.

The log is deterministic (no timestamps, rules sorted by code, keys in a fixed order), so the
same diagnostics always give the same bytes. URIs are repo-relative and resolved against
``%SRCROOT%``, the estate's root, which the consumer (e.g. the upload step) knows and we don't.
Columns count Unicode code points, as the loader does. The hint is the message's second line
and is also kept in ``properties.hint``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from compiler.diagnostics import Diagnostic, Related, Severity, Suppressed
from compiler.positions import Span, format_path
from compiler.printable import json_printable
from compiler.report.base import TOOL_NAME, TOOL_URI, ReportContext

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
SRCROOT = "%SRCROOT%"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def artifact_uri(file: str) -> str:
    """A repo-relative POSIX path as a relative URI reference (spaces, `%`, `#` encoded). A name's
    bytes that are not UTF-8 (kept by Python as lone surrogates) are percent-encoded as the bytes
    they are."""
    return quote(file.encode("utf-8", "surrogateescape"), safe="/")


def region(span: Span) -> dict[str, int]:
    """1-based start and, when known, exclusive end; SARIF's defaults fill in the rest."""
    out = {"startLine": span.line, "startColumn": span.column}
    if span.end_line is not None:
        out["endLine"] = span.end_line
    if span.end_column is not None:
        out["endColumn"] = span.end_column
    return out


def physical_location(span: Span) -> dict[str, Any]:
    return {
        "artifactLocation": {"uri": artifact_uri(span.file), "uriBaseId": SRCROOT},
        "region": region(span),
    }


def _first_of_each_code(diagnostics: list[Diagnostic]) -> dict[str, Diagnostic]:
    """The first diagnostic of each code, by code: it carries the rule's name and level."""
    first: dict[str, Diagnostic] = {}
    for diagnostic in diagnostics:
        first.setdefault(diagnostic.code, diagnostic)
    return dict(sorted(first.items()))


def rule_descriptor(diagnostic: Diagnostic, context: ReportContext) -> dict[str, Any]:
    rule: dict[str, Any] = {"id": diagnostic.code, "name": diagnostic.name}
    known = context.rules.get(diagnostic.code)
    if known is not None:
        rule["shortDescription"] = {"text": known.summary}
    # The rule's own severity, not the result's: --warnings-as-errors raises results, not rules.
    rule["defaultConfiguration"] = {
        "level": LEVELS[known.severity if known else diagnostic.severity]
    }
    return rule


def _message_text(diagnostic: Diagnostic) -> str:
    return (
        f"{diagnostic.message}\nhint: {diagnostic.hint}" if diagnostic.hint else diagnostic.message
    )


def _related_location(index: int, related: Related) -> dict[str, Any]:
    return {
        "id": index,
        "physicalLocation": physical_location(related.span),
        "message": {"text": related.message},
    }


def _result_properties(diagnostic: Diagnostic) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    if diagnostic.hint:
        properties["hint"] = diagnostic.hint
    if diagnostic.path:
        properties["path"] = format_path(diagnostic.path)
    if diagnostic.subject:
        properties["subject"] = diagnostic.subject
    if diagnostic.environments:
        properties["environments"] = list(diagnostic.environments)
    return properties


def result(diagnostic: Diagnostic, rule_index: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ruleId": diagnostic.code,
        "ruleIndex": rule_index,
        "level": LEVELS[diagnostic.severity],
        "message": {"text": _message_text(diagnostic)},
        "locations": [{"physicalLocation": physical_location(diagnostic.span)}],
    }
    if diagnostic.related:
        out["relatedLocations"] = [
            _related_location(i, r) for i, r in enumerate(diagnostic.related, start=1)
        ]
    properties = _result_properties(diagnostic)
    if properties:
        out["properties"] = properties
    return out


def suppressed_result(suppressed: Suppressed, rule_index: int) -> dict[str, Any]:
    """A suppressed diagnostic: a result with an in-source suppression giving the comment's reason
    (code scanning shows it as dismissed)."""
    out = result(suppressed.diagnostic, rule_index)
    out["suppressions"] = [
        {
            "kind": "inSource",
            "justification": suppressed.reason,
            "location": {"physicalLocation": physical_location(suppressed.comment)},
        }
    ]
    return out


def sarif_log(diagnostics: list[Diagnostic], context: ReportContext) -> dict[str, Any]:
    """The SARIF log as plain data (tests inspect it; format_report serialises it)."""
    quiet = [s.diagnostic for s in context.suppressed]
    firsts = _first_of_each_code([*diagnostics, *quiet])
    index = {code: i for i, code in enumerate(firsts)}
    driver = {
        "name": TOOL_NAME,
        "version": context.tool_version,
        "informationUri": TOOL_URI,
        "rules": [rule_descriptor(d, context) for d in firsts.values()],
    }
    run = {
        "tool": {"driver": driver},
        "originalUriBaseIds": {
            SRCROOT: {"description": {"text": "The root of the llmops estate."}}
        },
        "columnKind": "unicodeCodePoints",
        "results": [
            *(result(d, index[d.code]) for d in diagnostics),
            *(suppressed_result(s, index[s.diagnostic.code]) for s in context.suppressed),
        ],
    }
    return {"$schema": SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}


def format_report(diagnostics: list[Diagnostic], context: ReportContext) -> str:
    text = json.dumps(sarif_log(diagnostics, context), indent=2, ensure_ascii=False)
    return json_printable(text) + "\n"
