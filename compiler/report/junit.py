"""JUnit XML, for CI systems that show test reports (GitLab, Jenkins, Azure, test-reporter actions).

Mapping, chosen so that a report reads like a test run of the estate:

* one ``<testsuites>`` root holding one ``<testsuite name="llmops validate">``;
* one ``<testcase>`` per file: every file checked (``context.sources``) plus any other file a
  diagnostic names, sorted by path; ``name`` is the repo-relative path;
* a file with errors fails with exactly one ``<failure>`` (some consumers accept no more):
  its ``message`` counts the errors and names their rules, its text lists each error as the
  text format does, with source line and hint;
* warnings and infos never fail a file: they are listed in the testcase's ``<system-out>``.

Output is deterministic: ``time`` is always "0" and there are no timestamps or host names.
Characters XML 1.0 cannot carry (control characters, lone surrogates) are written as escapes.
"""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET

from compiler.diagnostics import Diagnostic, Severity
from compiler.printable import xml_printable
from compiler.report.base import TOOL_NAME, ReportContext
from compiler.report.limit import left_out_note, shown_per_file
from compiler.report.text import format_diagnostic

SUITE_NAME = "llmops validate"
CLASS_NAME = "llmops.validate"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """Replace what XML 1.0 forbids, so one odd byte in a manifest cannot make the report
    unreadable."""
    return _NOT_XML.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _files(diagnostics: list[Diagnostic], context: ReportContext) -> list[str]:
    return sorted(set(context.sources) | {d.span.file for d in diagnostics})


def _by_file(diagnostics: list[Diagnostic]) -> dict[str, list[Diagnostic]]:
    grouped: dict[str, list[Diagnostic]] = {}
    for diagnostic in diagnostics:
        grouped.setdefault(diagnostic.span.file, []).append(diagnostic)
    return grouped


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _blocks(diagnostics: list[Diagnostic], context: ReportContext, note: str = "") -> str:
    blocks = [format_diagnostic(d, context) for d in diagnostics]
    if note:
        blocks.append(note)
    return xml_safe("\n\n".join(blocks))


def _failure(
    errors: list[Diagnostic], shown: list[Diagnostic], context: ReportContext, note: str
) -> ET.Element:
    """One failure counting and naming every error; its text lists those shown."""
    rules = sorted({f"{d.code} {d.name}" for d in errors})
    failure = ET.Element(
        "failure",
        {
            "message": xml_safe(f"{_plural(len(errors), 'error')}: {', '.join(rules)}"),
            "type": " ".join(sorted({d.code for d in errors})),
        },
    )
    failure.text = _blocks(shown, context, note)
    return failure


def testcase(file: str, diagnostics: list[Diagnostic], context: ReportContext) -> ET.Element:
    """One file as one test: failed by its errors, annotated by its warnings and infos."""
    case = ET.Element("testcase", {"name": xml_safe(file), "classname": CLASS_NAME, "time": "0"})
    shown = shown_per_file(diagnostics)  # errors are shown first, so only the last block has a note
    note = left_out_note(file, shown.total_left_out) if shown.total_left_out else ""
    errors = [d for d in diagnostics if d.severity is Severity.ERROR]
    shown_errors = [d for d in shown.diagnostics if d.severity is Severity.ERROR]
    others = [d for d in shown.diagnostics if d.severity is not Severity.ERROR]
    if errors:
        case.append(_failure(errors, shown_errors, context, "" if others else note))
    if others:
        ET.SubElement(case, "system-out").text = _blocks(others, context, note)
    return case


def _counts(element: ET.Element, tests: int, failures: int) -> None:
    element.attrib.update(
        {"tests": str(tests), "failures": str(failures), "errors": "0", "skipped": "0", "time": "0"}
    )


def _properties(context: ReportContext) -> ET.Element:
    properties = ET.Element("properties")
    ET.SubElement(
        properties,
        "property",
        {"name": f"{TOOL_NAME}.version", "value": xml_safe(context.tool_version)},
    )
    ET.SubElement(
        properties,
        "property",
        {"name": "environments", "value": xml_safe(", ".join(context.environments))},
    )
    return properties


def junit_tree(diagnostics: list[Diagnostic], context: ReportContext) -> ET.Element:
    """The report as an element tree (format_report serialises it)."""
    plain = dataclasses.replace(context, color=False)
    grouped = _by_file(diagnostics)
    cases = [testcase(file, grouped.get(file, []), plain) for file in _files(diagnostics, context)]
    failures = sum(1 for case in cases if case.find("failure") is not None)
    root = ET.Element("testsuites", {"name": SUITE_NAME})
    suite = ET.SubElement(root, "testsuite", {"name": SUITE_NAME})
    _counts(root, len(cases), failures)
    _counts(suite, len(cases), failures)
    suite.append(_properties(context))
    suite.extend(cases)
    return root


def format_report(diagnostics: list[Diagnostic], context: ReportContext) -> str:
    root = junit_tree(diagnostics, context)
    ET.indent(root)
    return XML_DECLARATION + xml_printable(ET.tostring(root, encoding="unicode")) + "\n"
