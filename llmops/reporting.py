"""Printing diagnostics in the format asked for: shared by the commands and the proxy, which
reports an estate it refuses to serve as `llmops validate` would."""

from __future__ import annotations

import os
from typing import TextIO

from compiler.diagnostics import Diagnostic
from compiler.pipeline import ValidationResult
from compiler.report.base import ReportContext, get_formatter
from llmops import __version__


def use_color(stream: TextIO) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    return stream.isatty() and "NO_COLOR" not in os.environ


def report_context(result: ValidationResult, color: bool) -> ReportContext:
    from compiler.check.registry import RULES_BY_CODE

    return ReportContext(
        sources=result.sources,
        files_checked=len(result.loaded.files),
        environments=tuple(result.loaded.environments),
        tool_version=__version__,
        color=color,
        rules=RULES_BY_CODE,
        suppressed=tuple(result.suppressed),
    )


def print_report(
    diagnostics: list[Diagnostic], result: ValidationResult, output_format: str, stream: TextIO
) -> None:
    formatter = get_formatter(output_format)
    stream.write(
        formatter(
            diagnostics, report_context(result, use_color(stream) and output_format == "text")
        )
    )
