"""Writing rendered files: atomic per file, stale files removed, and a read-only comparison for --check."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from llmops.manifest_files import write_atomically

RENDERED_SUFFIX = ".yaml"


@dataclass
class OutputPlan:
    """Relative path -> content of every file a render produces, grouped by directory."""

    files: dict[str, str] = field(default_factory=dict)
    directories: list[str] = field(default_factory=list)


@dataclass
class OutputDifference:
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.changed or self.missing or self.stale)


def _existing(root: Path, directories: list[str]) -> set[str]:
    """The rendered files already in the plan's directories (only .yaml files; anything else is left alone)."""
    found: set[str] = set()
    for directory in directories:
        folder = root / directory
        if folder.is_dir():
            found.update(f"{directory}/{path.name}" for path in folder.iterdir()
                         if path.is_file() and path.name.endswith(RENDERED_SUFFIX))
    return found


def compare_output(root: Path, plan: OutputPlan) -> OutputDifference:
    difference = OutputDifference()
    existing = _existing(root, plan.directories)
    for relative, text in sorted(plan.files.items()):
        path = root / relative
        if relative not in existing:
            difference.missing.append(relative)
        elif path.read_text(encoding="utf-8") != text:
            difference.changed.append(relative)
    difference.stale = sorted(existing - set(plan.files))
    return difference


def write_output(root: Path, plan: OutputPlan) -> OutputDifference:
    """Write what changed (each file atomically) and remove files no longer rendered."""
    difference = compare_output(root, plan)
    for relative in (*difference.missing, *difference.changed):
        write_atomically(root / relative, plan.files[relative])
    for relative in difference.stale:
        (root / relative).unlink()
    return difference
