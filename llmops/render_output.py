"""Writing rendered files: atomic per file, stale files removed, and a read-only comparison for --check.

A directory that does not exist yet is written whole into a hidden sibling and renamed into place, so
a reader sees all of it or none of it; in a directory that exists, each new or changed file is written
to a temporary file and renamed over the old one. Either way a reader never sees half a file, and a
failure leaves no partial directory behind. Files are written with as few system calls as possible:
an estate renders thousands of them.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

RENDERED_SUFFIX = ".yaml"
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_FILE_MODE = 0o600  # what `tempfile.mkstemp`, which wrote rendered files before, gives them
_DIRECTORY_MODE = 0o777  # less the umask, as `Path.mkdir` creates directories


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
            with os.scandir(folder) as entries:
                found.update(f"{directory}/{entry.name}" for entry in entries
                             if entry.name.endswith(RENDERED_SUFFIX) and entry.is_file())
    return found


def _same_content(path: Path, data: bytes, text: str) -> bool:
    """Whether the file holds ``text``, read as text (universal newlines, as `Path.read_text` reads it)."""
    with open(path, "rb") as handle:
        written = handle.read()
    if written == data:
        return True
    return written.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n") == text


def _encoded(plan: OutputPlan) -> dict[str, bytes]:
    return {relative: text.encode("utf-8") for relative, text in plan.files.items()}


def _difference(root: Path, plan: OutputPlan, encoded: dict[str, bytes]) -> OutputDifference:
    difference = OutputDifference()
    existing = _existing(root, plan.directories)
    for relative in sorted(plan.files):
        if relative not in existing:
            difference.missing.append(relative)
        elif not _same_content(root / relative, encoded[relative], plan.files[relative]):
            difference.changed.append(relative)
    difference.stale = sorted(existing - set(plan.files))
    return difference


def compare_output(root: Path, plan: OutputPlan) -> OutputDifference:
    return _difference(root, plan, _encoded(plan))


def _write_new_file(path: str, data: bytes) -> None:
    descriptor = os.open(path, _NEW_FILE_FLAGS, _FILE_MODE)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view):]
    finally:
        os.close(descriptor)


def _temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")


def _replace_file(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same directory and rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        temporary = _temporary_name(path)
        try:
            _write_new_file(str(temporary), data)
            break
        except FileExistsError:
            continue
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _remove_tree(path: Path) -> None:
    for entry in os.scandir(path):
        os.unlink(entry.path)
    os.rmdir(path)


def _new_staging_directory(folder: Path) -> Path:
    """A new, empty, hidden sibling of ``folder`` (its parents are created)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    while True:
        staging = _temporary_name(folder)
        try:
            os.mkdir(staging, _DIRECTORY_MODE)
            return staging
        except FileExistsError:
            continue


def _write_new_directory(folder: Path, files: dict[str, bytes]) -> None:
    """Create ``folder`` with exactly ``files`` (name -> content): written into a hidden sibling
    directory, which is then renamed into place."""
    staging = _new_staging_directory(folder)
    try:
        prefix = f"{staging}{os.sep}"
        for name, data in files.items():
            _write_new_file(prefix + name, data)
        os.rename(staging, folder)
    except BaseException:
        _remove_tree(staging)
        raise


def write_output(root: Path, plan: OutputPlan) -> OutputDifference:
    """Write what changed (each file atomically; a new directory all at once) and remove files no
    longer rendered."""
    encoded = _encoded(plan)
    difference = _difference(root, plan, encoded)
    whole: dict[str, dict[str, bytes]] = {}  # directories that do not exist: written whole
    for directory in plan.directories:
        if not os.path.lexists(root / directory):
            whole[directory] = {}
    for relative in (*difference.missing, *difference.changed):
        directory, _, name = relative.rpartition("/")
        if directory in whole:
            whole[directory][name] = encoded[relative]
        else:
            _replace_file(root / relative, encoded[relative])
    for directory, files in whole.items():
        if files:
            _write_new_directory(root / directory, files)
    for relative in difference.stale:
        (root / relative).unlink()
    return difference
