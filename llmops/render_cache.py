"""The render cache: `llmops render` (and `llmops cmp generate`) hand out what they rendered before
as long as every byte the render read is the same.

An entry is found by the render's settings (the environment, files or stream), llmops's version,
the digest of its own code and templates, the Python and library installation, and the names of
the files under `environments/`. It is used only when replaying its trace, the answer to every
question the render asked the repository (which files exist, the SHA-256 of each file it read),
gives the same answers now: otherwise the render runs cold and the entry is replaced. Entries are
written whole (a temporary file renamed into place) and carry the SHA-256 of their content, so a
truncated or corrupt entry is a miss, never trusted. Only renders without any diagnostic are kept
(a render with warnings prints them, so it runs every time). Deleting the directory is always
safe.

Where: ``--cache-dir DIR``, else ``$LLMOPS_CACHE_DIR``, else ``$XDG_CACHE_HOME/llmops/render``
(``~/.cache/llmops/render``); ``off`` for either turns it off.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from compiler.build import RenderOutput
from compiler.load.tree import FileProblem, RepoTree
from llmops import __version__

CACHE_VARIABLE = "LLMOPS_CACHE_DIR"
FORMAT = b"llmops-render-cache 1"
SUFFIX = ".render"
KEEP = 16  # entries kept; the least recently used beyond these are removed
# what the rendered text also depends on, besides llmops's own code
LIBRARIES = ("yaml", "pydantic", "pydantic_core", "jinja2", "markupsafe")
ENVIRONMENTS = "environments"  # compiler.load.estate.ENVIRONMENTS_DIR, without importing the loader

Question = tuple[str, str, int]  # (method, path, limit)


def default_cache_dir() -> Path:
    """``$LLMOPS_CACHE_DIR``, else the XDG cache home (an absolute ``$XDG_CACHE_HOME``, else
    ``~/.cache``) + ``llmops/render``."""
    chosen = os.environ.get(CACHE_VARIABLE)
    if chosen:
        return Path(chosen)
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "llmops" / "render"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _problem_text(problem: FileProblem) -> str:
    return json.dumps(
        [problem.rule.code, problem.message, problem.hint, problem.line, problem.column]
    )


def _answer_digest(value: object) -> str:
    if isinstance(value, FileProblem):
        return "problem " + _digest(_problem_text(value).encode())
    if isinstance(value, bytes):
        return "bytes " + _digest(value)
    if isinstance(value, tuple):  # walk_files: (files, [(path, problem)])
        files, problems = value
        text = json.dumps([files, [[path, _problem_text(p)] for path, p in problems]])
        return "walk " + _digest(text.encode())
    return "value " + _digest(json.dumps(value).encode())


class RecordingTree:
    """A RepoTree that asks its inner tree each question once, answers it the same way for the
    rest of the run (a replay and the render that follows see one state of the files), and keeps
    a digest of every answer the render was given: the trace."""

    def __init__(self, inner: RepoTree) -> None:
        self._inner = inner
        self._answers: dict[Question, object] = {}
        self._digests: dict[Question, str] = {}
        self.trace: dict[Question, str] = {}
        # an answer that was neither a value nor a FileProblem: what the render did may not
        # follow from the trace, so it is not kept
        self.unusual = False

    def answer_digest(self, question: Question) -> str:
        """The digest of the answer to ``question`` (asked now unless asked before)."""
        if question not in self._digests:
            method, path, limit = question
            self._ask(question, self._call(method, path, limit))
        return self._digests[question]

    def _call(self, method: str, path: str, limit: int) -> Callable[[], object]:
        if method == "read_bytes":
            return lambda: self._inner.read_bytes(path, limit)
        if method == "walk_files":
            return lambda: self._inner.walk_files(path)
        if method == "list_dir":
            return lambda: self._inner.list_dir(path)
        if method == "is_dir":
            return lambda: self._inner.is_dir(path)
        raise ValueError(f"unknown question {method!r}")

    def _ask(self, question: Question, call: Callable[[], object]) -> object:
        if question not in self._answers:
            try:
                value = call()
            except FileProblem as problem:
                value = problem
            except Exception:
                self.unusual = True
                raise
            self._answers[question] = value
            self._digests[question] = _answer_digest(value)
        return self._answers[question]

    def _record(self, question: Question, call: Callable[[], object]) -> object:
        value = self._ask(question, call)
        self.trace.setdefault(question, self._digests[question])
        if isinstance(value, FileProblem):
            raise value
        return value

    def is_dir(self, path: str) -> bool:
        value = self._record(("is_dir", path, 0), lambda: self._inner.is_dir(path))
        assert isinstance(value, bool)
        return value

    def list_dir(self, path: str) -> list[str]:
        value = self._record(("list_dir", path, 0), lambda: self._inner.list_dir(path))
        assert isinstance(value, list)
        return list(value)

    def walk_files(self, path: str) -> tuple[list[str], list[tuple[str, FileProblem]]]:
        value = self._record(("walk_files", path, 0), lambda: self._inner.walk_files(path))
        assert isinstance(value, tuple)
        files, problems = value
        return list(files), list(problems)

    def read_bytes(self, path: str, limit: int) -> bytes:
        value = self._record(
            ("read_bytes", path, limit), lambda: self._inner.read_bytes(path, limit)
        )
        assert isinstance(value, bytes)
        return value


def _files_digest(folder: Path) -> list[tuple[str, str]]:
    """(relative path, SHA-256) of every file below ``folder``, sorted; no bytecode."""
    found = []
    for directory, subdirectories, names in os.walk(folder):
        subdirectories[:] = sorted(d for d in subdirectories if d != "__pycache__")
        for name in names:
            if name.endswith((".pyc", ".pyo")):
                continue
            path = os.path.join(directory, name)
            with open(path, "rb") as handle:
                found.append((os.path.relpath(path, folder), _digest(handle.read())))
    return sorted(found)


def _library_stamp(name: str) -> list[object]:
    """Which installation of a library: its folder's files, their sizes and modification times
    (an upgrade or reinstall rewrites them). Found without importing it."""
    spec = find_spec(name)
    if spec is None:
        return [name, None]
    folders = list(spec.submodule_search_locations or [])
    if not folders:
        origin = spec.origin or ""
        stat = os.stat(origin) if os.path.isfile(origin) else None
        return [name, origin, stat and [stat.st_size, stat.st_mtime_ns]]
    entries = []
    with os.scandir(folders[0]) as scan:
        for entry in scan:
            if entry.is_file():
                stat = entry.stat()
                entries.append([entry.name, stat.st_size, stat.st_mtime_ns])
    return [name, folders[0], sorted(entries)]


def code_stamp() -> dict[str, Any]:
    """What besides the repository decides the rendered text: llmops's version, its compiler and
    templates (by content, so an edited checkout is a new stamp), Python and the libraries."""
    import compiler.build
    from compiler.render.templating import TEMPLATES_DIR

    compiler_dir = Path(compiler.build.__file__).resolve().parent
    return {
        "llmops": __version__,
        "compiler": _files_digest(compiler_dir),
        "templates": _files_digest(TEMPLATES_DIR),
        "python": [sys.version, sys.platform, sys.implementation.name],
        "libraries": [_library_stamp(name) for name in LIBRARIES],
    }


class RenderCache:
    """Entries in one directory, one per key: ``<key>.render``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def key(self, tree: RecordingTree, settings: dict[str, Any]) -> str:
        listing = tree.answer_digest(("walk_files", ENVIRONMENTS, 0))
        text = json.dumps(
            {"settings": settings, "code": code_stamp(), "environments": listing},
            sort_keys=True,
        )
        return _digest(text.encode())

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}{SUFFIX}"

    def lookup(self, key: str, tree: RecordingTree) -> RenderOutput | None:
        """The entry's output if it is whole and every answer of its trace is still the same."""
        try:
            data = self._path(key).read_bytes()
        except OSError:
            return None
        entry = _parse_entry(data, key)
        if entry is None:
            return None
        trace, output = entry
        for question, digest in trace:
            try:
                if tree.answer_digest(question) != digest:
                    return None
            except Exception:
                return None
        with contextlib.suppress(OSError):
            os.utime(self._path(key))  # recently used: pruned last
        return output

    def store(self, key: str, tree: RecordingTree, output: RenderOutput) -> str | None:
        """Write the entry; returns why it could not be written (it is only a cache), or None."""
        body = json.dumps(
            {
                "key": key,
                "trace": [[*question, digest] for question, digest in tree.trace.items()],
                "objects": output.objects,
                "directories": output.directories,
                "files": output.files,
                "stream": output.stream,
            },
            ensure_ascii=False,
        ).encode()
        data = FORMAT + b" " + _digest(body).encode() + b"\n" + body
        try:
            # only its owner may write entries: an entry whose trace matches is believed
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=".entry-", dir=self.directory)
            try:
                with os.fdopen(handle, "wb") as stream:
                    stream.write(data)
                os.replace(temporary, self._path(key))
            except BaseException:
                os.unlink(temporary)
                raise
            self._prune()
        except OSError as error:
            return f"{self.directory}: {error.strerror or error}"
        return None

    def _prune(self) -> None:
        entries = []
        with os.scandir(self.directory) as scan:
            for entry in scan:
                if entry.name.endswith(SUFFIX) and entry.is_file():
                    entries.append((entry.stat().st_mtime_ns, entry.path))
        for _, path in sorted(entries, reverse=True)[KEEP:]:
            with contextlib.suppress(OSError):
                os.unlink(path)


def _parse_entry(data: bytes, key: str) -> tuple[list[tuple[Question, str]], RenderOutput] | None:
    """An entry's trace and output, or None for anything not exactly as `store` writes it."""
    header, newline, body = data.partition(b"\n")
    if not newline or header != FORMAT + b" " + _digest(body).encode():
        return None
    try:
        entry = json.loads(body)
        trace = [((str(m), str(p), int(limit)), str(d)) for m, p, limit, d in entry["trace"]]
        files = entry["files"]
        directories = entry["directories"]
        stream = entry["stream"]
        objects = entry["objects"]
    except (ValueError, TypeError, KeyError):
        return None
    if (
        entry.get("key") != key
        or not isinstance(files, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items())
        or not isinstance(directories, list)
        or not all(isinstance(d, str) for d in directories)
        or not (stream is None or isinstance(stream, str))
        or not isinstance(objects, int)
    ):
        return None
    return trace, RenderOutput(objects=objects, directories=directories, files=files, stream=stream)
