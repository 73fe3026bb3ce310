"""Writing manifests to disk (approve, init): safe YAML serialization and atomic replacement."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from compiler.load.scalars import resolve_plain_scalar
from llmops.write_guard import confined_path

_BaseDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):  # type: ignore[misc,valid-type]
    """PyYAML's safe dumper, quoting every string llmops would read back as something else."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    """PyYAML leaves plain what YAML 1.1 reads as a string, but llmops reads YAML 1.2, where
    `1e3`, `-1e-3` and `0o17` are numbers: written plain, an `approve --by 1e3` broke the estate."""
    quoted = bool(text) and resolve_plain_scalar(text) != text
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="'" if quoted else None)


_Dumper.add_representer(str, _represent_text)


def dump_manifests(documents: list[dict[str, Any]], header: str | None = None) -> str:
    """Serialize manifests (never string-pasted YAML), keeping the key order given."""
    body = yaml.dump_all(
        documents,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=100,
        explicit_start=len(documents) > 1,
    )
    return (f"# {header}\n" if header else "") + body


def write_atomically(base: Path, relative: str, text: str) -> Path:
    """Write `base/relative` via a temporary file and rename, so a reader never sees half a file;
    the path must resolve inside `base` (see write_guard). Returns the path written."""
    path = confined_path(base, relative)
    write_atomically_bytes(path, text.encode("utf-8"))
    return path


def _mode_for(path: Path) -> int:
    """Keep an existing file's permissions; a new file gets what the umask allows (mkstemp's are
    0600)."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomically_bytes(path: Path, data: bytes) -> None:
    """Only for a path `confined_path` has checked."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, _mode_for(path))
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
