"""Source positions: where a value was written, so every diagnostic can point at it."""

from __future__ import annotations

import re

from compiler.records import record

PathSegment = str | int
Path = tuple[PathSegment, ...]


@record(slots=True)
class Span:
    """A region of one file. ``file`` is repo-relative POSIX; lines and columns are 1-based."""

    file: str
    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None

    @classmethod
    def file_start(cls, file: str) -> Span:
        """The whole-file position used for problems that have no better place (size, encoding)."""
        return cls(file, 1, 1)


# A key written plain in a path; any other is quoted: `metadata.labels["llmops.io/model"]`.
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def child_path(parent: str, segment: PathSegment) -> str:
    """``parent`` extended by a key or an index: ``spec.predictor``, ``args[2]``,
    ``metadata.labels["llmops.io/model"]`` (a key that is no plain name is quoted, and its quotes
    and backslashes escaped, so a path reads back one way)."""
    if isinstance(segment, int):
        return f"{parent}[{segment}]"
    if _PLAIN_KEY.fullmatch(segment):
        return f"{parent}.{segment}" if parent else segment
    quoted = segment.replace("\\", "\\\\").replace('"', '\\"')
    return f'{parent}["{quoted}"]'


def format_path(path: Path) -> str:
    """Render a manifest path the way users write it: ``spec.deploymentSpec.resources[0]``."""
    out = ""
    for segment in path:
        out = child_path(out, segment)
    return out
