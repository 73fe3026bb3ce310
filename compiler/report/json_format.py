"""JSON: `{"diagnostics": [...], "suppressed": [...], "summary": {...}}`, stable key order, 1-based
positions. A suppressed diagnostic carries `suppression`: the comment's place and its reason."""

from __future__ import annotations

import json
from typing import Any

from compiler.diagnostics import Diagnostic, Severity, Suppressed, count_by_severity
from compiler.printable import json_printable
from compiler.report.base import ReportContext


def diagnostic_to_dict(diagnostic: Diagnostic) -> dict[str, Any]:
    span = diagnostic.span
    return {
        "code": diagnostic.code,
        "name": diagnostic.name,
        "severity": diagnostic.severity.value,
        "file": span.file,
        "line": span.line,
        "column": span.column,
        "end_line": span.end_line,
        "end_column": span.end_column,
        "message": diagnostic.message,
        "hint": diagnostic.hint,
        "path": list(diagnostic.path),
        "subject": diagnostic.subject,
        "environments": list(diagnostic.environments),
        "related": [
            {
                "file": r.span.file,
                "line": r.span.line,
                "column": r.span.column,
                "message": r.message,
            }
            for r in diagnostic.related
        ],
    }


def suppressed_to_dict(suppressed: Suppressed) -> dict[str, Any]:
    """A suppressed diagnostic, with the comment that suppressed it and its reason."""
    comment = suppressed.comment
    return {
        **diagnostic_to_dict(suppressed.diagnostic),
        "suppression": {
            "kind": "inSource",
            "reason": suppressed.reason,
            "file": comment.file,
            "line": comment.line,
            "column": comment.column,
        },
    }


def format_report(diagnostics: list[Diagnostic], context: ReportContext) -> str:
    counts = count_by_severity(diagnostics)
    document = {
        "diagnostics": [diagnostic_to_dict(d) for d in diagnostics],
        "suppressed": [suppressed_to_dict(s) for s in context.suppressed],
        "summary": {
            "errors": counts[Severity.ERROR],
            "warnings": counts[Severity.WARNING],
            "infos": counts[Severity.INFO],
            "suppressed": len(context.suppressed),
            "files": context.files_checked,
            "environments": list(context.environments),
        },
    }
    return json_printable(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"
