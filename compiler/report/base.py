"""What every output format receives, and the table of formats."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import field

from compiler.diagnostics import Diagnostic, Rule, Suppressed
from compiler.records import record

TOOL_NAME = "llmops"
TOOL_URI = "https://github.com/llmops/llmops"


@record(eq=False, repr=False)
class ReportContext:
    """Everything a formatter may need besides the diagnostics. Formatters return text; they never
    print."""

    # file -> text, for source lines and carets
    sources: Mapping[str, str] = field(default_factory=dict)
    files_checked: int = 0
    environments: tuple[str, ...] = ()
    tool_version: str = "0"
    color: bool = False
    rules: Mapping[str, Rule] = field(default_factory=dict)  # code -> rule (SARIF rule metadata)
    # what inline suppressions silenced: counted in text, listed in JSON and SARIF
    suppressed: tuple[Suppressed, ...] = ()
    # file -> its lines, split once on first use: a report's cost must not be (diagnostics x size)
    _lines: dict[str, list[str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def lines_of(self, file: str) -> list[str] | None:
        """The file's lines, split at most once however many diagnostics point into it."""
        lines = self._lines.get(file)
        if lines is None:
            text = self.sources.get(file)
            if text is None:
                return None
            lines = self._lines[file] = text.splitlines()
        return lines


Formatter = Callable[[list[Diagnostic], ReportContext], str]

# format name -> module under compiler.report exposing `format_report`
FORMAT_MODULES: dict[str, str] = {
    "text": "text",
    "json": "json_format",
    "github": "github",
    "sarif": "sarif",
    "junit": "junit",
}


def get_formatter(name: str) -> Formatter:
    """Import only the chosen format's module."""
    module = importlib.import_module(f"compiler.report.{FORMAT_MODULES[name]}")
    formatter: Formatter = module.format_report
    return formatter


def source_line(context: ReportContext, file: str, line: int) -> str | None:
    lines = context.lines_of(file)
    if lines is None:
        return None
    return lines[line - 1] if 0 < line <= len(lines) else None
