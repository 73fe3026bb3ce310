"""Reading and writing storage URIs through fsspec: local paths, file://, s3:// (s3fs), memory://
and the rest.

S3 credentials and endpoint come from where boto looks for them (the pod's service account or the
AWS_* variables, AWS_ENDPOINT_URL for an S3-compatible store such as MinIO). Every storage failure
becomes one TrainerError naming the URI, so a typo in a bucket name reads as such, not as a botocore
traceback.
"""

from __future__ import annotations

import contextlib
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops.train.errors import TrainerError


@dataclass(frozen=True)
class StoredFile:
    """One file under a URI: where it is, its path relative to the URI that was listed, and its
    size."""

    uri: str
    relative: str
    size: int


def _filesystem(uri: str) -> tuple[Any, str]:
    try:
        from fsspec.core import url_to_fs
    except ImportError:  # pragma: no cover - the trainer's environment always has it
        raise TrainerError(
            "fsspec is not installed: run the trainer from its image or .venv-train"
        ) from None
    try:
        filesystem, path = url_to_fs(uri)
    except (ImportError, ValueError) as error:
        raise TrainerError(f"{uri}: this trainer cannot open such a URI ({error})") from None
    return filesystem, str(path)


@contextlib.contextmanager
def _failures_named(uri: str, doing: str) -> Iterator[None]:
    """Storage errors as one line: FileNotFoundError, PermissionError, and the clients' own
    errors."""
    try:
        yield
    except TrainerError:
        raise
    except FileNotFoundError:
        raise TrainerError(f"{uri}: not found while {doing}") from None
    except PermissionError as error:
        raise TrainerError(
            f"{uri}: access denied while {doing} ({error}); the job's service account needs "
            "read access to the dataset and base model and write access to the output"
        ) from None
    except Exception as error:  # botocore, aiohttp and others each raise their own kinds
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise TrainerError(f"{uri}: {doing} failed: {detail}") from None


def _join(uri: str, relative: str) -> str:
    return uri.rstrip("/") + "/" + relative


def list_files(uri: str) -> list[StoredFile]:
    """The files at URI: the file itself, or every file under the folder (sorted, paths relative to
    URI)."""
    filesystem, root = _filesystem(uri)
    with _failures_named(uri, "listing"):
        if not filesystem.exists(root):
            raise TrainerError(f"{uri}: not found (nothing exists at this URI)")
        if not filesystem.isdir(root):
            info = filesystem.info(root)
            return [
                StoredFile(uri, posixpath.basename(root.rstrip("/")), int(info.get("size") or 0))
            ]
        found = filesystem.find(root, detail=True)
    prefix = root.rstrip("/") + "/"
    files = []
    for path, info in found.items():
        if info.get("type") == "directory" or not path.startswith(prefix):
            continue
        relative = path[len(prefix) :]
        files.append(StoredFile(_join(uri, relative), relative, int(info.get("size") or 0)))
    return sorted(files, key=lambda stored: stored.relative)


def read_bytes(stored: StoredFile) -> bytes:
    filesystem, path = _filesystem(stored.uri)
    with _failures_named(stored.uri, "reading"):
        data: bytes = filesystem.cat_file(path)
    return data


def local_copy(uri: str, scratch: Path) -> Path:
    """A local folder holding what URI holds: the folder itself when it is local, else a download
    into scratch."""
    filesystem, root = _filesystem(uri)
    files = list_files(uri)
    protocols = (
        filesystem.protocol if isinstance(filesystem.protocol, tuple) else (filesystem.protocol,)
    )
    if "file" in protocols or "local" in protocols:
        return Path(root)
    for stored in files:  # streamed file by file: weights can be larger than memory
        target = scratch / stored.relative
        target.parent.mkdir(parents=True, exist_ok=True)
        source_filesystem, source = _filesystem(stored.uri)
        with _failures_named(stored.uri, "downloading"):
            source_filesystem.get_file(source, str(target))
    return scratch


def upload(folder: Path, uri: str, names: list[str]) -> None:
    """Copy the named files (relative to folder) to the folder URI, in the order given."""
    filesystem, root = _filesystem(uri)
    with _failures_named(uri, "writing the output"):
        filesystem.makedirs(root, exist_ok=True)
        for name in names:
            target = root.rstrip("/") + "/" + name
            parent = posixpath.dirname(target)
            if parent and parent != root.rstrip("/"):
                filesystem.makedirs(parent, exist_ok=True)
            filesystem.put_file(str(folder / name), target)


def check_base_model(uri: str) -> None:
    """The base model's URI holds a Hugging Face model folder: checked by listing, before anything
    is loaded."""
    if not any(stored.relative == "config.json" for stored in list_files(uri)):
        raise TrainerError(
            f"{uri}: no config.json: the base model's storageUri must hold a Hugging Face model "
            "folder (config.json, weights, tokenizer files)"
        )


def remove(uri: str, names: list[str]) -> None:
    """Delete the named files (relative to the folder URI)."""
    filesystem, root = _filesystem(uri)
    with _failures_named(uri, "removing the previous run's files"):
        for name in names:
            filesystem.rm_file(root.rstrip("/") + "/" + name)
