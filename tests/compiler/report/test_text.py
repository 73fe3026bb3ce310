"""The text format against the shared sample: exact output, block by block."""

from __future__ import annotations

import dataclasses

import pytest

from compiler.diagnostics import Diagnostic
from compiler.report.text import format_diagnostic, format_report
from tests.compiler.report import sample_diagnostics as sample

CASES: list[tuple[str, Diagnostic, str]] = [
    (
        "error with source, caret, hint and note",
        sample.DUPLICATE,
        "environments/_shared/catalog/model.yaml:4:9: error[R005]: Model `llama` version 2 is "
        "defined twice  (duplicate-identity)\n 4 |   name: llama\n   |         ^^^^^\n  hint: "
        "rename one of them or give it another version\n  note: "
        "environments/_shared/catalog/other.yaml:4:9: first defined here",
    ),
    (
        "multi-line span: a one-character caret",
        sample.NOT_APPROVED,
        "environments/dev/serving/chat.yaml:5:1: error[P001]: endpoint serves `llama@3`, which is "
        "not approved for dev  (model-not-approved)\n 5 | spec:\n   | ^\n  hint: llmops approve "
        "llama@3 --env dev --by ID --role ROLE",
    ),
    (
        "special characters pass through; a newline in a message is shown as an escape",
        sample.TRICKY,
        "environments/dev/serving/chat.yaml:7:10: error[S005]: "
        'spec.route: not in the expected format (got the string "/a, b: 100% <&>")'
        "\\x0aroutes look like: /llm-ops/v1/serve/<name>  (invalid-value)\n"
        ' 7 |   route: "/a, b: 100% <&>"\n'
        "   |          ^^^^^^^^^^^^^^^^^\n"
        '  hint: write it as: "/llm-ops/v1/serve/chat" (100% <literal>, no commas)',
    ),
    (
        "warning without an end",
        sample.OCTAL,
        "environments/dev/serving/chat.yaml:8:9: warning[Y010]: `0755` is 755 in YAML 1.2 "
        "but 493 in YAML 1.1"
        "  (yaml11-number)\n"
        " 8 |   mode: 0755\n"
        "   |         ^\n"
        '  hint: quote it: "0755"',
    ),
    (
        "no source text: the head line only",
        sample.NOTE,
        "environments/stg/notes, v2.txt:1:1: info[I001]: skipped: the file is not YAML  "
        "(not-a-manifest)",
    ),
]


@pytest.mark.parametrize(
    ("diagnostic", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_block(diagnostic: Diagnostic, expected: str) -> None:
    assert format_diagnostic(diagnostic, sample.CONTEXT) == expected


def test_report_is_blocks_then_summary() -> None:
    blocks = [case[2] for case in CASES] + [
        "3 errors, 1 warning, 1 info (4 files, environments: dev, stg)"
    ]
    assert format_report(sample.DIAGNOSTICS, sample.CONTEXT) == "\n\n".join(blocks) + "\n"


def test_colour_only_when_asked() -> None:
    coloured = format_report(sample.DIAGNOSTICS, dataclasses.replace(sample.CONTEXT, color=True))
    assert "\x1b[" in coloured
    assert "\x1b[" not in format_report(sample.DIAGNOSTICS, sample.CONTEXT)
