"""GitHub workflow commands: exact lines for the shared sample, and GitHub's escaping rules."""

from __future__ import annotations

import pytest

from compiler.diagnostics import Diagnostic
from compiler.report.base import ReportContext
from compiler.report.github import escape_data, escape_property, format_command, format_report
from tests.compiler.report import sample_diagnostics as sample

CASES: list[tuple[str, Diagnostic, str]] = [
    (
        "error with hint, subject and related location",
        sample.DUPLICATE,
        "::error "
        "file=environments/_shared/catalog/model.yaml,"
        "line=4,col=9,endLine=4,endColumn=14,title=R005 "
        "duplicate-identity%3A Model/llama (dev)::Model `llama` version 2 is defined "
        "twice%0Ahint: rename one of them or give it another version%0Anote: "
        "environments/_shared/catalog/other.yaml:4:9: first defined here",
    ),
    (
        "multi-line span: no columns",
        sample.NOT_APPROVED,
        "::error file=environments/dev/serving/chat.yaml,line=5,endLine=8,"
        "title=P001 model-not-approved%3A ServingEndpoint/chat (dev)::"
        "endpoint serves `llama@3`, which is not approved for dev"
        "%0Ahint: llmops approve llama@3 --env dev --by ID --role ROLE",
    ),
    (
        "message with newline, percent, quotes, commas, colons and <&>",
        sample.TRICKY,
        "::error file=environments/dev/serving/chat.yaml,line=7,col=10,endLine=7,endColumn=27,"
        "title=S005 invalid-value%3A ServingEndpoint/chat::"
        'spec.route: not in the expected format (got the string "/a, b: 100%25 <&>")'
        "\\x0aroutes look like: /llm-ops/v1/serve/<name>"
        '%0Ahint: write it as: "/llm-ops/v1/serve/chat" (100%25 <literal>, no commas)',
    ),
    (
        "warning without end position or subject",
        sample.OCTAL,
        "::warning file=environments/dev/serving/chat.yaml,line=8,col=9,title=Y010 yaml11-number::"
        '`0755` is 755 in YAML 1.2 but 493 in YAML 1.1%0Ahint: quote it: "0755"',
    ),
    (
        "info becomes a notice; comma in the file name is escaped",
        sample.NOTE,
        "::notice file=environments/stg/notes%2C v2.txt,line=1,col=1,title=I001 not-a-manifest::"
        "skipped: the file is not YAML",
    ),
]


@pytest.mark.parametrize(
    ("diagnostic", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_command_line(diagnostic: Diagnostic, expected: str) -> None:
    assert format_command(diagnostic) == expected


def test_report_is_one_command_per_diagnostic_then_the_summary() -> None:
    summary = "3 errors, 1 warning, 1 info (4 files, environments: dev, stg)"
    expected = "\n".join([*(case[2] for case in CASES), summary]) + "\n"
    assert format_report(sample.DIAGNOSTICS, sample.CONTEXT) == expected


def test_every_command_is_a_single_line() -> None:
    lines = format_report(sample.DIAGNOSTICS, sample.CONTEXT).splitlines()
    assert len(lines) == len(sample.DIAGNOSTICS) + 1
    assert all(line.startswith("::") for line in lines[:-1])
    assert not lines[-1].startswith("::")


def test_clean_estate_prints_only_the_summary() -> None:
    assert format_report([], ReportContext(files_checked=1)) == "no problems (1 file)\n"


ESCAPES = [
    ("plain", "plain", "plain"),
    ("percent first, so escapes are not escaped twice", "100%0A", "100%250A"),
    ("carriage return and newline", "a\r\nb", "a%0D%0Ab"),
    ("colon and comma only in properties", "k: v, w", "k: v, w"),
]


@pytest.mark.parametrize(
    ("raw", "expected"), [case[1:] for case in ESCAPES], ids=[case[0] for case in ESCAPES]
)
def test_escape_data(raw: str, expected: str) -> None:
    assert escape_data(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a,b:c", "a%2Cb%3Ac"),
        ("50%\r\n", "50%25%0D%0A"),
        ("::error::", "%3A%3Aerror%3A%3A"),
    ],
)
def test_escape_property(raw: str, expected: str) -> None:
    assert escape_property(raw) == expected
