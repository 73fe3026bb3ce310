"""GitHub Actions workflow commands: one `::error`/`::warning`/`::notice` line per diagnostic.

GitHub turns each line into an annotation on the pull request's diff. A line looks like::

    ::error file=F,line=L,col=C,endLine=L2,endColumn=C2,title=CODE name: subject::message%0Ahint:
    ...

Choices worth knowing:

* The hint and each related location ("note: file:line:col: message") follow the message on
  lines of their own; an annotation has one place, so related places can only be named in text.
* ``col`` and ``endColumn`` are sent only when the span stays on one line: GitHub rejects
  columns for annotations that span several lines.
* The report ends with one plain summary line (the text format's, e.g. ``2 errors (3 files)``).
  It is not a command, so GitHub prints it in the log and makes no annotation of it.
"""

from __future__ import annotations

from compiler.diagnostics import Diagnostic, Severity
from compiler.printable import escape_controls
from compiler.report.base import ReportContext
from compiler.report.limit import left_out_note, shown_per_file
from compiler.report.text import summary_line

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    """Escape a command's message, so a newline cannot end the command early."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value, where `,` separates properties and `:` ends them."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _title(diagnostic: Diagnostic) -> str:
    title = f"{diagnostic.code} {diagnostic.name}"
    return f"{title}: {diagnostic.subject}" if diagnostic.subject else title


def _properties(diagnostic: Diagnostic) -> list[tuple[str, str]]:
    span = diagnostic.span
    one_line = span.end_line in (None, span.line)
    pairs = [("file", span.file), ("line", str(span.line))]
    if one_line:
        pairs.append(("col", str(span.column)))
    if span.end_line is not None:
        pairs.append(("endLine", str(span.end_line)))
    if one_line and span.end_column is not None:
        pairs.append(("endColumn", str(span.end_column)))
    pairs.append(("title", _title(diagnostic)))
    # no control character from a manifest (an escape sequence in a folder's name) reaches the log
    return [(key, escape_controls(value)) for key, value in pairs]


def _message(diagnostic: Diagnostic) -> str:
    # each part one line of the annotation, every control character in it (a newline or an escape
    # sequence a manifest's value or a folder's name brought) shown as an escape (`\x0a`)
    lines = [diagnostic.message]
    if diagnostic.environments:
        lines.append(f"found in: {', '.join(diagnostic.environments)} (a shared file)")
    if diagnostic.hint:
        lines.append(f"hint: {diagnostic.hint}")
    for related in diagnostic.related:
        where = related.span
        lines.append(f"note: {where.file}:{where.line}:{where.column}: {related.message}")
    return "\n".join(escape_controls(line) for line in lines)


def format_command(diagnostic: Diagnostic) -> str:
    """One workflow command line for one diagnostic."""
    properties = ",".join(
        f"{key}={escape_property(value)}" for key, value in _properties(diagnostic)
    )
    return f"::{COMMANDS[diagnostic.severity]} {properties}::{escape_data(_message(diagnostic))}"


def format_report(diagnostics: list[Diagnostic], context: ReportContext) -> str:
    shown = shown_per_file(diagnostics)
    lines = [format_command(diagnostic) for diagnostic in shown.diagnostics]
    # plain lines, not commands: GitHub prints them in the log and annotates nothing
    lines.extend(
        escape_data(escape_controls(left_out_note(f, n))) for f, n in shown.left_out.items()
    )
    lines.append(summary_line(diagnostics, context, shown.total_left_out))
    return "\n".join(lines) + "\n"
