"""Compiler-style text: `path:line:col: severity[CODE]: message`, the source line, a caret, the
hint.

Everything here that comes from the estate (file names, messages quoting values, source lines,
hints) has its control characters escaped: the only escape sequences the terminal receives are our
colours.
"""

from __future__ import annotations

from compiler.diagnostics import Diagnostic, Severity, count_by_severity
from compiler.printable import escape_controls
from compiler.report.base import ReportContext, source_line
from compiler.report.limit import excerpt, left_out_note, shown_per_file

_COLORS = {Severity.ERROR: "31", Severity.WARNING: "33", Severity.INFO: "36"}


def _paint(text: str, code: str, enabled: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if enabled else text


def _caret(line: str, column: int, end_column: int | None, same_line: bool) -> str:
    """The caret under the escaped source line: each character before it counts as wide as its
    escape."""
    start = max(column - 1, 0)
    width = (end_column - column) if (same_line and end_column and end_column > column) else 1
    width = max(1, min(width, max(len(line) - start, 1)))
    prefix = "".join("\t" if ch == "\t" else " " * len(escape_controls(ch)) for ch in line[:start])
    return prefix + "^" * len(escape_controls(line[start : start + width]) or " ")


def format_diagnostic(diagnostic: Diagnostic, context: ReportContext) -> str:
    span = diagnostic.span
    color = context.color
    severity = _paint(diagnostic.severity.value, "1;" + _COLORS[diagnostic.severity], color)
    # A message or hint is one line: a newline in it comes from a value a manifest wrote (a name,
    # a reference, a folder's name) and is shown as `\n`, so no text in a manifest can print a
    # line that looks like a diagnostic of its own.
    message = escape_controls(diagnostic.message)
    place = escape_controls(f"{span.file}:{span.line}:{span.column}")
    head = (
        f"{_paint(place, '1', color)}: {severity}[{diagnostic.code}]: {message}  "
        f"({diagnostic.name})"
    )
    out = [head]
    line = source_line(context, span.file, span.line)
    if line is not None:
        gutter = str(span.line)
        pad = " " * len(gutter)
        line, column = excerpt(line, span.column)
        end_column = span.end_column and span.end_column - span.column + column
        caret = _caret(line, column, end_column, span.end_line in (None, span.line))
        out.append(f" {gutter} | {escape_controls(line)}")
        out.append(f" {pad} | {_paint(caret, _COLORS[diagnostic.severity], color)}")
    if diagnostic.environments:
        found_in = escape_controls(", ".join(diagnostic.environments))
        out.append(f"  found in: {found_in} (a shared file is checked in each environment)")
    if diagnostic.hint:
        out.append(f"  {_paint('hint', '1;32', color)}: {escape_controls(diagnostic.hint)}")
    for related in diagnostic.related:
        r = related.span
        out.append(escape_controls(f"  note: {r.file}:{r.line}:{r.column}: {related.message}"))
    return "\n".join(out)


def summary_line(diagnostics: list[Diagnostic], context: ReportContext, left_out: int = 0) -> str:
    """Counts of every diagnostic, including those a bounded report left out."""
    counts = count_by_severity(diagnostics)
    scope = f"{context.files_checked} file{'s' if context.files_checked != 1 else ''}"
    if context.environments:
        scope += f", environments: {escape_controls(', '.join(context.environments))}"
    parts = [f"{counts[s]} {s.value}{'s' if counts[s] != 1 else ''}" for s in Severity if counts[s]]
    if not parts:
        parts = ["no problems"]
    if context.suppressed:  # not shown, but never silently gone
        parts.append(f"{len(context.suppressed)} suppressed")
    if left_out:
        parts.append(f"{left_out} not shown")
    return f"{', '.join(parts)} ({scope})"


def format_report(diagnostics: list[Diagnostic], context: ReportContext) -> str:
    shown = shown_per_file(diagnostics)
    blocks = [format_diagnostic(diagnostic, context) for diagnostic in shown.diagnostics]
    blocks.extend(escape_controls(left_out_note(f, n)) for f, n in shown.left_out.items())
    blocks.append(summary_line(diagnostics, context, shown.total_left_out))
    return "\n\n".join(blocks) + "\n"
