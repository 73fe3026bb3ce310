"""Writing rendered files: atomic per file, stale files llmops wrote removed (see render_record),
and a read-only comparison for --check.

A directory that does not exist yet is written whole into a hidden sibling and renamed into place,
so a reader sees all of it or none of it; in a directory that exists, each new or changed file is
written to a temporary file and renamed over the old one. Either way a reader never sees half a
file, and a failure leaves no partial directory behind. Files are written with as few system calls
as possible: an estate renders thousands of them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from compiler.errors import LlmopsError
from compiler.printable import escape_controls
from llmops.render_record import (
    RECORD_FILE,
    Record,
    digest,
    read_record,
    record_text,
    unchanged_since_written,
)
from llmops.write_guard import confined_path

RENDERED_SUFFIX = ".yaml"
_NEW_FILE_FLAGS = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_FILE_MODE = 0o666  # less the umask, as `open` creates files: rendered objects are no secret (CI,
# kubectl and Argo CD read them, often as other users)
_DIRECTORY_MODE = 0o777  # less the umask, as `Path.mkdir` creates directories
_MAX_LISTED = 5


@dataclass
class OutputPlan:
    """Relative path -> content of every file a render produces, grouped by directory."""

    files: dict[str, str] = field(default_factory=dict)
    directories: list[str] = field(default_factory=list)
    # a render of every environment (not `--env`): it writes every folder a render of the estate
    # writes, so a folder its record lists but it does not (an environment removed, the Argo CD
    # objects no longer rendered) holds files no longer rendered too. One environment's render
    # leaves the other folders alone.
    whole: bool = False


@dataclass
class OutputDifference:
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # written by llmops, no longer rendered: removed
    # no longer rendered, but changed since written: left alone
    kept: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)  # .yaml files llmops did not write: left alone
    # to be written, but not llmops's file to overwrite
    conflicts: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.changed or self.missing or self.stale)


def _existing(root: Path, directories: list[str]) -> set[str]:
    """The regular .yaml files already in the plan's directories (links and anything else are not
    files render wrote)."""
    found: set[str] = set()
    for directory in directories:
        folder = root / directory
        if folder.is_dir():
            with os.scandir(folder) as entries:
                found.update(
                    f"{directory}/{entry.name}"
                    for entry in entries
                    if entry.name.endswith(RENDERED_SUFFIX) and entry.is_file(follow_symlinks=False)
                )
    return found


def _file_bytes(path: str) -> bytes:
    """A file's bytes through its descriptor: an unchanged `render -o` reads back every file it
    wrote (12,000 for 1,000 endpoints x 3), and a buffered file object per file cost a third of
    that run."""
    descriptor = os.open(path, _READ_FLAGS)
    try:
        pieces = [os.read(descriptor, os.fstat(descriptor).st_size + 1)]
        while pieces[-1]:  # the file grew since fstat (or the system read less): read to its end
            pieces.append(os.read(descriptor, 1 << 20))
    finally:
        os.close(descriptor)
    return b"".join(pieces)


def _same_content(path: str, data: bytes, text: str) -> bool:
    """Whether the file holds ``text``, read as text (universal newlines, as `Path.read_text` reads
    it)."""
    written = _file_bytes(path)
    if written == data:
        return True
    return written.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n") == text


def _encoded(plan: OutputPlan) -> dict[str, bytes]:
    return {relative: text.encode("utf-8") for relative, text in plan.files.items()}


def _difference(
    root: Path, plan: OutputPlan, encoded: dict[str, bytes], record: Record
) -> OutputDifference:
    difference = OutputDifference()
    base = os.fspath(root)  # joined as text: a Path per file cost more than comparing it
    existing = _existing(root, plan.directories)
    present_directories = {
        directory for directory in plan.directories if os.path.lexists(root / directory)
    }
    for relative in sorted(plan.files):
        if relative not in existing:
            difference.missing.append(relative)
            if relative.rpartition("/")[0] in present_directories and os.path.lexists(
                root / relative
            ):
                difference.conflicts.append(relative)  # a link or a folder where the file goes
        elif not _same_content(
            os.path.join(base, relative), encoded[relative], plan.files[relative]
        ):
            difference.changed.append(relative)
            if relative not in record:
                difference.conflicts.append(relative)
    for relative in sorted(existing - set(plan.files)):
        if relative not in record:
            difference.foreign.append(relative)
        elif unchanged_since_written(root / relative, record[relative]):
            difference.stale.append(relative)
        else:
            difference.kept.append(relative)
    for relative in _recorded_elsewhere(root, plan, record):
        if unchanged_since_written(root / relative, record[relative]):
            difference.stale.append(relative)
        else:
            difference.kept.append(relative)
    return difference


def _recorded_elsewhere(root: Path, plan: OutputPlan, record: Record) -> list[str]:
    """For a whole render, the files its record lists in folders it no longer writes that are
    still there (None of them for one environment's render: those folders are not its own)."""
    if not plan.whole:
        return []
    rendered = set(plan.directories)
    return sorted(
        relative
        for relative in record
        if relative.partition("/")[0] not in rendered
        and not os.path.islink(root / relative.partition("/")[0])  # leads to another folder
        and os.path.lexists(root / relative)
    )


def compare_output(root: Path, plan: OutputPlan) -> OutputDifference:
    _refuse_linked_folders(root, plan)
    return _difference(root, plan, _encoded(plan), read_record(root))


def _refuse_linked_folders(root: Path, plan: OutputPlan) -> None:
    """Refuse a rendered folder that is a link, even one that stays inside ``root``: `out/stg ->
    prod` would have stg's objects overwrite prod's, and each render report success."""
    for directory in plan.directories:
        folder = root / directory
        if os.path.islink(folder):
            shown = escape_controls(str(folder))
            target = escape_controls(os.readlink(folder))
            raise LlmopsError(
                f"cannot render into {escape_controls(str(root))}: {shown} is a link (to "
                f"{target}), and each environment's objects go into a folder of their own",
                hint=f"remove the link {shown}; render writes the folder itself",
            )


def _write_new_file(path: str, data: bytes) -> None:
    descriptor = os.open(path, _NEW_FILE_FLAGS, _FILE_MODE)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
    finally:
        os.close(descriptor)


def _temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")


def _replace_file(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same directory and rename, so a reader never sees half a
    file."""
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


def _refuse_conflicts(root: Path, conflicts: list[str]) -> None:
    listed = ", ".join(
        escape_controls(str(root / relative)) for relative in conflicts[:_MAX_LISTED]
    )
    more = f" and {len(conflicts) - _MAX_LISTED} more" if len(conflicts) > _MAX_LISTED else ""
    raise LlmopsError(
        f"cannot render into {escape_controls(str(root))}: {listed}{more} would be overwritten, "
        f"and {RECORD_FILE} does not show llmops wrote them; nothing was written",
        hint="move those files away, or render into a folder of its own",
    )


def write_output(root: Path, plan: OutputPlan, record: Record | None = None) -> OutputDifference:
    """Write what changed (each file atomically; a new directory all at once), then remove the files
    llmops wrote before that are no longer rendered and unchanged since. Files llmops did not write
    are never overwritten or removed; every path is checked to stay inside `root`. ``record``: the
    record the caller has just read from `root`, else it is read here."""
    _refuse_linked_folders(root, plan)
    if record is None:
        record = read_record(root)
    encoded = _encoded(plan)
    difference = _difference(root, plan, encoded, record)
    if difference.conflicts:
        _refuse_conflicts(root, difference.conflicts)
    for directory in plan.directories:
        confined_path(root, directory)
    for relative in difference.stale:
        confined_path(root, relative, what="cannot delete")
    written = {relative: digest(data) for relative, data in encoded.items()}
    record_path = confined_path(root, RECORD_FILE)
    _write_record(record_path, record, {**record, **written})  # first: a crash loses no proof
    try:
        _write_changes(root, plan, encoded, difference)
    except OSError as error:
        # some files may be the new render's already: said, with the way out (the record lists
        # every file this render writes, so a run after the cause is fixed finishes the update)
        where = f"{escape_controls(str(error.filename))}: " if error.filename else ""
        raise LlmopsError(
            f"cannot write the render into {escape_controls(str(root))}: {where}"
            f"{error.strerror or error}; some files "
            "there may be the new render's, others not yet",
            hint="fix the cause (permissions, space) and run the same command again: it "
            "finishes the update",
        ) from None
    rendered = set(plan.directories)
    if plan.whole:
        _remove_emptied_folders(root, {relative.partition("/")[0] for relative in difference.stale})
    kept = {
        relative: value
        for relative, value in record.items()
        if relative.partition("/")[0] not in rendered and not plan.whole
    }
    _write_record(record_path, {**record, **written}, {**kept, **written})
    return difference


def _write_changes(
    root: Path, plan: OutputPlan, encoded: dict[str, bytes], difference: OutputDifference
) -> None:
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


def _remove_emptied_folders(root: Path, folders: set[str]) -> None:
    """Remove the folders a whole render no longer writes once pruning left them empty (one that
    still holds anything, a file of the user's or one they changed, stays)."""
    for folder in sorted(folders - {""}):
        path = confined_path(root, folder, what="cannot delete")
        if path.is_dir() and not path.is_symlink():
            with contextlib.suppress(OSError):  # not empty: left alone
                os.rmdir(path)


def _write_record(path: Path, current: Record, wanted: Record) -> None:
    if wanted != current or not path.is_file():
        _replace_file(path, record_text(wanted).encode())
