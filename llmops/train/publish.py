"""Writing the output: the new files, then the metadata file, then removing what the previous run
left.

A job retried, or changed but writing to the same output URI, replaces what an earlier run wrote
there. Only files the earlier run's own metadata file lists are removed, so nothing else kept under
the URI is ever touched, and a reader never finds an adapter of one run beside the model of another.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from compiler.load.strict_json import loads
from compiler.target.training_contract import METADATA_FILE
from llmops.train.errors import TrainerError
from llmops.train.storage import list_files, read_bytes, remove, upload


def previous_files(output_uri: str) -> list[str]:
    """What the last run wrote here, by its metadata file; nothing when there is none or it cannot
    be read."""
    try:
        stored = [entry for entry in list_files(output_uri) if entry.relative == METADATA_FILE]
        document = loads(read_bytes(stored[0])) if stored else {}
    except (TrainerError, ValueError):
        return []
    files = document.get("output", {}).get("files", []) if isinstance(document, dict) else []
    return [
        name
        for name in files
        if isinstance(name, str)
        and name
        and not name.startswith("/")
        and ".." not in posixpath.normpath(name).split("/")
    ]


def publish(folder: Path, output_uri: str, files: list[str]) -> list[str]:
    """Upload files and the metadata file (last: it marks a complete output); the stale files
    removed."""
    previous = previous_files(output_uri)
    upload(folder, output_uri, [*files, METADATA_FILE])
    stale = sorted(set(previous) - set(files) - {METADATA_FILE})
    remove(output_uri, stale)
    return stale
