"""Source positions: where a value was written, so every diagnostic can point at it."""

from __future__ import annotations

from dataclasses import dataclass

PathSegment = str | int
Path = tuple[PathSegment, ...]


@dataclass(frozen=True, slots=True)
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


def format_path(path: Path) -> str:
    """Render a manifest path the way users write it: ``spec.deploymentSpec.resources[0]``."""
    out: list[str] = []
    for segment in path:
        if isinstance(segment, int):
            out.append(f"[{segment}]")
        else:
            out.append(f".{segment}" if out else segment)
    return "".join(out)
