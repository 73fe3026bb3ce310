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
