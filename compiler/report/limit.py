"""Bounds on what a report shows, so its size and cost follow what a person can read, not what a
hostile or broken file can produce.

The formats meant to be read by people or shown as annotations (text, github, junit) show at most
`SHOWN_PER_FILE` diagnostics per file, errors before warnings before infos, and say how many they
left out; the counts in their summaries stay complete. The machine formats (json, sarif) list
everything. A source line is shown as a window of at most `EXCERPT_WIDTH` characters around the
diagnostic's column.
"""

from __future__ import annotations

from compiler.diagnostics import Diagnostic
from compiler.records import record

SHOWN_PER_FILE = 100
EXCERPT_WIDTH = 160
ELLIPSIS = "…"


@record(eq=False, repr=False)
class Shown:
    """The diagnostics a report shows, in their original order, and how many each file left out."""

    diagnostics: list[Diagnostic]
    left_out: dict[str, int]  # file -> number of its diagnostics not shown, sorted by file

    @property
    def total_left_out(self) -> int:
        return sum(self.left_out.values())


def shown_per_file(diagnostics: list[Diagnostic], limit: int = SHOWN_PER_FILE) -> Shown:
    """At most `limit` diagnostics per file: the most severe first, then in report order."""
    by_file: dict[str, list[int]] = {}
    for index, diagnostic in enumerate(diagnostics):
        by_file.setdefault(diagnostic.span.file, []).append(index)
    keep: set[int] = set()
    left_out: dict[str, int] = {}
    for file, indexes in by_file.items():
        if len(indexes) > limit:
            indexes = sorted(indexes, key=lambda i: (diagnostics[i].severity.rank, i))
            left_out[file] = len(indexes) - limit
        keep.update(indexes[:limit])
    return Shown(
        [d for i, d in enumerate(diagnostics) if i in keep], dict(sorted(left_out.items()))
    )


def left_out_note(file: str, count: int) -> str:
    """One line naming a file's diagnostics that a report did not show."""
    return (
        f"{file}: {count} more diagnostic{'' if count == 1 else 's'} not shown "
        f"(at most {SHOWN_PER_FILE} per file in this format; `--format json` lists all)"
    )


def excerpt(line: str, column: int) -> tuple[str, int]:
    """A window of `line` of at most EXCERPT_WIDTH characters around 1-based `column`, and the
    column within it: a diagnostic on a 500 KB line shows a few dozen characters, not the line."""
    if len(line) <= EXCERPT_WIDTH:
        return line, column
    start = max(0, min(column - 1 - EXCERPT_WIDTH // 4, len(line) - EXCERPT_WIDTH))
    end = start + EXCERPT_WIDTH
    window = line[start:end]
    prefix = ELLIPSIS if start > 0 else ""
    suffix = ELLIPSIS if end < len(line) else ""
    return prefix + window + suffix, column - start + len(prefix)
