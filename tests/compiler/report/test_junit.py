"""JUnit XML against the shared sample: one testcase per file, errors fail, warnings do not."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

from compiler.diagnostics import Severity
from compiler.positions import Span
from compiler.report.base import ReportContext
from compiler.report.junit import format_report, xml_safe
from tests.compiler.report import sample_diagnostics as sample


def _root(report: str | None = None) -> ET.Element:
    return ET.fromstring(
        report if report is not None else format_report(sample.DIAGNOSTICS, sample.CONTEXT)
    )


def _cases(root: ET.Element) -> dict[str, ET.Element]:
    return {case.attrib["name"]: case for case in root.iter("testcase")}


def test_parses_with_one_suite_and_counts() -> None:
    root = _root()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert suite.attrib == {
        "name": "llmops validate",
        "tests": "5",
        "failures": "2",
        "errors": "0",
        "skipped": "0",
        "time": "0",
    }
    assert root.attrib["tests"] == "5" and root.attrib["failures"] == "2"


def test_declaration_and_determinism() -> None:
    report = format_report(sample.DIAGNOSTICS, sample.CONTEXT)
    assert report.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')
    assert report == format_report(list(sample.DIAGNOSTICS), sample.CONTEXT)
    assert all(element.attrib.get("time", "0") == "0" for element in _root(report).iter())
    assert "timestamp" not in report and "hostname" not in report


def test_every_file_is_a_testcase_sorted_clean_ones_pass() -> None:
    cases = _cases(_root())
    assert list(cases) == [
        sample.MODEL,
        sample.OTHER_MODEL,
        sample.CHAT,
        sample.CLEAN,
        sample.NOTES,
    ]
    for clean in (sample.OTHER_MODEL, sample.CLEAN):
        assert list(cases[clean]) == []
    assert {case.attrib["classname"] for case in cases.values()} == {"llmops.validate"}


def test_errors_fail_their_file_once() -> None:
    chat = _cases(_root())[sample.CHAT]
    (failure,) = chat.findall("failure")
    assert failure.attrib == {
        "message": "2 errors: P001 model-not-approved, S005 invalid-value",
        "type": "P001 S005",
    }
    text = failure.text or ""
    assert "environments/dev/serving/chat.yaml:5:1: error[P001]" in text
    first_line, second_line = sample.TRICKY_MESSAGE.splitlines()
    # the message's newline shown as an escape: each line of the text is one llmops wrote
    assert (
        f"environments/dev/serving/chat.yaml:7:10: error[S005]: {first_line}\\x0a{second_line}"
        in text
    )
    assert f"hint: {sample.TRICKY.hint}" in text
    assert "yaml11-number" not in text


def test_related_location_is_in_the_failure_text() -> None:
    failure = _cases(_root())[sample.MODEL].find("failure")
    assert failure is not None
    assert "note: environments/_shared/catalog/other.yaml:4:9: first defined here" in (
        failure.text or ""
    )


def test_warnings_and_infos_go_to_system_out_and_do_not_fail() -> None:
    cases = _cases(_root())
    out = cases[sample.CHAT].find("system-out")
    assert out is not None and "warning[Y010]" in (out.text or "")
    notes = cases[sample.NOTES]
    assert notes.find("failure") is None
    assert "info[I001]: skipped: the file is not YAML" in (notes.findtext("system-out") or "")


def test_warnings_only_report_has_no_failures() -> None:
    root = _root(format_report([sample.OCTAL], sample.CONTEXT))
    assert root.attrib["failures"] == "0"
    assert not list(root.iter("failure"))


def test_properties() -> None:
    properties = {p.attrib["name"]: p.attrib["value"] for p in _root().iter("property")}
    assert properties == {"llmops.version": "1.2.3", "environments": "dev, stg"}


def test_never_coloured_even_if_the_context_asks() -> None:
    assert "\x1b" not in format_report(sample.DIAGNOSTICS, replace(sample.CONTEXT, color=True))


def test_characters_xml_cannot_hold_are_escaped() -> None:
    odd = replace(
        sample.NOTE,
        severity=Severity.ERROR,
        message="bad byte \x00 and \x1b[31m and \udc80",
        span=Span("environments/dev/\x07.yaml", 1, 1),
    )
    root = _root(format_report([odd], ReportContext()))
    (case,) = root.iter("testcase")
    assert case.attrib["name"] == "environments/dev/\\u0007.yaml"
    # The failure text is the text format's, which writes control characters as escapes already.
    assert "bad byte \\x00 and \\x1b[31m and \\udc80" in (case.findtext("failure") or "")


def test_xml_safe_keeps_what_xml_allows() -> None:
    text = "tab\tnewline\ncr\r é ☃ \U0001f600 <&>"
    assert xml_safe(text) == text
