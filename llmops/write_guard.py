"""The one check before llmops writes or deletes a file: where the path really leads.

A committed link (`environments/prod/approvals -> /etc`), a `..` in a recorded path, or a link
planted in an output folder would otherwise make a command write or delete outside the folder it
works in. Every command that touches files (approve, rollback, promote, render -o, init, schema)
asks this guard first, for the resolved path, links followed.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from compiler.errors import LlmopsError
from compiler.printable import escape_controls


def confined_path(base: Path, relative: str, *, what: str = "cannot write") -> Path:
    """`base/relative`, after checking that it resolves inside `base` (links followed, also a
    dangling last one). `what` opens the error message ("cannot write", "cannot delete")."""
    parts = PurePosixPath(relative.replace(os.sep, "/")).parts
    shown = escape_controls(str(base / relative))
    if (
        not parts
        or relative.startswith(("/", os.sep))
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise LlmopsError(f"{what} {shown}: not a plain path below {escape_controls(str(base))}")
    target = base.joinpath(*parts)
    inside = os.path.realpath(base)
    resolved = os.path.realpath(target)
    if resolved != inside and not resolved.startswith(inside.rstrip(os.sep) + os.sep):
        raise LlmopsError(
            f"{what} {shown}: it leads to {escape_controls(resolved)}, outside "
            f"{escape_controls(str(base))} (through a link)",
            hint="replace the link with a real folder or file; llmops never writes through a "
            "link to a place outside the folder it works in",
        )
    return target


def output_folder(given: str, *, estate_root: Path | None = None) -> Path:
    """The folder a command was told to write into (`render -o DIR`, `schema --output DIR`), after
    checking that no link takes it somewhere the user did not name.

    A relative DIR stays inside the folder it is relative to (the working directory, or the parent
    its leading `..` name): a committed `out -> /etc` link is refused. An absolute DIR is written
    where it leads, as the user named the place, unless it names a place inside the estate: then it
    must lead to a place inside the estate too."""
    shown = escape_controls(given)
    if not given.strip():
        raise LlmopsError(
            "no folder to write into: the name given is empty",
            hint="name a folder of its own, e.g. `out` (`.` for the working directory)",
        )
    hint = (
        "replace the link with a real folder, or give the place it leads to as an absolute path if "
        "that is where you mean to write"
    )
    path = Path(given)
    if not path.is_absolute():
        parts = PurePosixPath(given.replace(os.sep, "/")).parts
        leading = 0
        while leading < len(parts) and parts[leading] == "..":
            leading += 1
        base = os.path.realpath(os.path.join(os.getcwd(), *parts[:leading]))
        resolved = os.path.realpath(os.path.join(base, *parts[leading:]))
        if not _inside(resolved, base):
            if os.path.normpath(os.path.join(base, *parts[leading:])) == resolved:
                # no link on the way: a `..` after a folder's name climbs out
                raise LlmopsError(
                    f"cannot write into {shown}: its `..` lead out of {escape_controls(base)}, to "
                    f"{escape_controls(resolved)}",
                    hint="name the folder without `..` after a folder's name, or give it as an "
                    "absolute path if that is where you mean to write",
                )
            raise LlmopsError(
                f"cannot write into {shown}: it leads to {escape_controls(resolved)}, outside "
                f"{escape_controls(base)} (through a link)",
                hint=hint,
            )
        return path
    if estate_root is not None:
        estate = os.path.abspath(estate_root)
        real_estate = os.path.realpath(estate_root)
        named = os.path.normpath(given)
        if _inside(named, estate) or _inside(named, real_estate):
            resolved = os.path.realpath(given)
            if not _inside(resolved, real_estate):
                raise LlmopsError(
                    f"cannot write into {shown}: it is inside the estate but leads to "
                    f"{escape_controls(resolved)}, outside it (through a link)",
                    hint=hint,
                )
    return path


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def refuse_estate_interior(target: Path, *, verb: str, hint: str) -> None:
    """Refuse a folder inside an estate's `environments/` (one holding `_shared/` or an
    environment's `environment.yaml`): whatever is written there is read as the estate's manifests
    (a nested estate's examples would be duplicates of dev's). ``verb`` opens the message ("cannot
    create an estate in", "cannot write schemas into")."""
    resolved = Path(os.path.realpath(target))
    for folder in (resolved, *resolved.parents):
        if folder.name == "environments" and _holds_environments(folder):
            raise LlmopsError(
                f"{verb} {escape_controls(str(target))}: it is inside the estate's environments/ "
                f"folder ({escape_controls(str(folder))})",
                hint=hint,
            )


def _holds_environments(folder: Path) -> bool:
    try:
        with os.scandir(folder) as entries:
            return any(
                entry.is_dir()
                and (
                    entry.name == "_shared"
                    or os.path.isfile(os.path.join(entry.path, "environment.yaml"))
                )
                for entry in entries
            )
    except OSError:
        return False
