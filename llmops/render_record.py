"""What `render -o DIR` wrote: `DIR/.llmops-rendered.json` lists every file with the sha256 of what
was written, so a later render removes only files llmops provably wrote and that nobody changed
since.

Anything else in DIR (a hand-written patch, an estate's manifests, a file edited after rendering) is
never deleted, and a file llmops did not write is never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from compiler.errors import LlmopsError
from compiler.printable import escape_controls

RECORD_FILE = ".llmops-rendered.json"
_RECORD_VERSION = 1
MAX_RECORD_BYTES = 64 << 20  # about 500,000 files; an estate renders thousands
_ENTRY = re.compile(r"[^/\\]+/[^/\\]+")  # <group>/<file>: one folder deep, as render writes
_MANIFEST = re.compile(rb"apiVersion[\"']?[ \t]*:[ \t]*[\"']?llmops\.io/")  # block or JSON style
_MANIFEST_SUFFIXES = (".yaml", ".yml")

Record = dict[str, str]  # relative path -> sha256 of the bytes written


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _plain_entry(relative: str) -> bool:
    return bool(_ENTRY.fullmatch(relative)) and not any(
        part in (".", "..") for part in relative.split("/")
    )


def _record_bytes(path: Path) -> bytes | None:
    """The record file's bytes; None when there is none. A record that is not a regular file (a
    FIFO would block the read forever, a link or a device could lead anywhere) or is larger than any
    record llmops writes is refused: render would have to replace it."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    shown = escape_controls(str(path))
    hint = "remove it: render writes a new one (and then prunes nothing it rendered before)"
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as error:
        if not path.is_symlink():
            raise
        raise LlmopsError(f"{shown} is a link, not a file llmops wrote", hint=hint) from error
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise LlmopsError(
                f"{shown} is not a regular file, so llmops did not write it", hint=hint
            )
        data = handle.read(MAX_RECORD_BYTES + 1)
    if len(data) > MAX_RECORD_BYTES:
        raise LlmopsError(
            f"{shown} is larger than any record llmops writes ({MAX_RECORD_BYTES:,} bytes)",
            hint=hint,
        )
    return data


def read_record(root: Path) -> Record:
    """The record in `root`; empty when there is none or it is not one llmops wrote (then nothing
    counts as written by llmops, and nothing is deleted). JSON nested too deeply for the parser is
    not a record llmops wrote either."""
    try:
        raw = _record_bytes(root / RECORD_FILE)
        data: Any = None if raw is None else json.loads(raw.decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    files = (
        data.get("files")
        if isinstance(data, dict) and data.get("version") == _RECORD_VERSION
        else None
    )
    if not isinstance(files, dict):
        return {}
    return {
        path: value
        for path, value in files.items()
        if isinstance(path, str) and isinstance(value, str) and _plain_entry(path)
    }


def record_text(record: Record) -> str:
    return (
        json.dumps(
            {
                "version": _RECORD_VERSION,
                "writtenBy": "llmops render",
                "files": dict(sorted(record.items())),
            },
            indent=1,
            ensure_ascii=True,
        )
        + "\n"
    )


def unchanged_since_written(path: Path, recorded: str) -> bool:
    """Whether the regular file at `path` still holds what the record says was written (a checkout
    that turned the line ends into CRLF counts as unchanged)."""
    if path.is_symlink() or not path.is_file():
        return False
    data = path.read_bytes()
    return digest(data) == recorded or digest(data.replace(b"\r\n", b"\n")) == recorded


def is_manifest_file(path: Path) -> bool:
    """An llmops manifest (apiVersion llmops.io/...): the sign of an estate, which render never
    writes into."""
    if not path.name.endswith(_MANIFEST_SUFFIXES) or path.is_symlink() or not path.is_file():
        return False
    with open(path, "rb") as handle:
        return bool(_MANIFEST.search(handle.read(1 << 16)))


def refuse_estate_folders(
    root: Path, estate_root: Path, directories: list[str], record: Record
) -> None:
    """Refuse an output folder inside the estate's `environments/`, or one whose top or rendered
    folders hold llmops manifests: rendering there would overwrite or prune the estate itself.
    (Files the record lists are rendered objects and are not read again.)"""
    environments = os.path.realpath(estate_root / "environments")
    output = os.path.realpath(root)
    shown = escape_controls(str(root))
    if output == environments or output.startswith(environments.rstrip(os.sep) + os.sep):
        beside = escape_controls(os.path.relpath(estate_root / "out"))
        raise LlmopsError(
            f"cannot render into {shown}: it is inside the estate's environments/ folder",
            hint=f"-o is relative to the working directory; render into a folder of its own, "
            f"such as the estate's out/: `-o {beside}`",
        )
    for prefix, folder in (
        ("", root),
        *((f"{directory}/", root / directory) for directory in directories),
    ):
        if folder.is_dir() and not folder.is_symlink():
            with os.scandir(folder) as entries:
                manifest = next(
                    (
                        entry.name
                        for entry in entries
                        if prefix + entry.name not in record and is_manifest_file(Path(entry.path))
                    ),
                    None,
                )
            if manifest is not None:
                raise LlmopsError(
                    f"cannot render into {shown}: {escape_controls(str(folder / manifest))} is an "
                    "llmops manifest, so this folder holds an estate",
                    hint="render into a folder of its own, e.g. `-o out`",
                )
