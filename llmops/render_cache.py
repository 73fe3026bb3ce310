"""The render cache: `llmops render` (and `llmops cmp generate`) hand out what they rendered before
as long as every byte the render read is the same.

An entry is found by the render's settings (the environment, files or stream), llmops's version,
the digest of its own code and templates, the Python and library installation, and the names of
the files under `environments/`. It is used only when replaying its trace, the answer to every
question the render asked the repository (which files exist, the SHA-256 of each file it read),
gives the same answers now: otherwise the render runs cold and the entry is replaced. An entry
holds the text of the groups rendered in that run only (the Argo CD objects): for each environment
it names the environment's own entry (`GroupStore`) by key and SHA-256, so a render after a change
writes the changed environment's text once, not again with every other. Entries are
written whole (a temporary file renamed into place) and carry the SHA-256 of their content, so a
truncated or corrupt entry is a miss, never trusted. Only renders without any diagnostic are kept
(a render with warnings prints them, so it runs every time). Deleting the directory is always
safe.

Where: ``--cache-dir DIR``, else ``$LLMOPS_CACHE_DIR``, else ``$XDG_CACHE_HOME/llmops/render``
(``~/.cache/llmops/render``); ``off`` for either turns it off.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import hashlib
import json
import os
import re
import stat
import struct
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compiler.build import RenderedGroup, RenderOutput, Utf8Text
from compiler.diagnostics import Diagnostic, Related, Rule, Severity
from compiler.load.tree import FileProblem, RepoTree
from compiler.positions import Span
from llmops import __version__

if TYPE_CHECKING:
    from compiler.check.runner import Attributed, CheckRun
    from llmops.warm.memo import ParsedObjects

CACHE_VARIABLE = "LLMOPS_CACHE_DIR"
# the most the directory's files may hold in all, in MiB (`RenderCache.trim`)
BUDGET_VARIABLE = "LLMOPS_CACHE_MAX_MB"
DEFAULT_BUDGET_MB = 1024
FORMAT = b"llmops-render-cache 4"
SUFFIX = ".render"
KEEP = 16  # entries kept; the least recently used beyond these are removed
# the largest file the cache reads: a thousand endpoints x 3 write tens of MB; anything past this is
# no file of its, read whole it would only exhaust memory
MAX_CACHE_FILE_BYTES = 2 << 30
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


def cache_budget() -> tuple[int, str | None]:
    """The bytes the cache's files may hold in all: ``$LLMOPS_CACHE_MAX_MB`` MiB, else
    `DEFAULT_BUDGET_MB`; and why the variable was not used, when it was set to anything but a
    whole number of MiB."""
    written = os.environ.get(BUDGET_VARIABLE, "").strip()
    if not written:
        return DEFAULT_BUDGET_MB << 20, None
    if not written.isdigit() or not written.isascii() or len(written) > 9:
        return DEFAULT_BUDGET_MB << 20, (
            f"{BUDGET_VARIABLE} is not a whole number of MiB (up to 9 digits): "
            f"{written[:40]!r}; {DEFAULT_BUDGET_MB} MiB are used"
        )
    return int(written) << 20, None


def _digest(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def _line_ends(data: bytes, count: int) -> list[int] | None:
    """Where the first ``count`` lines of ``data`` end (their newlines), or None if it has fewer:
    an entry is sliced by position, its megabytes of text never copied whole."""
    ends, start = [], 0
    for _ in range(count):
        end = data.find(b"\n", start)
        if end < 0:
            return None
        ends.append(end)
        start = end + 1
    return ends


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
        # while set, every question asked (not only the first time) is kept here too
        self.asked: dict[Question, str] | None = None
        # an answer that was neither a value nor a FileProblem: what the render did may not
        # follow from the trace, so it is not kept
        self.unusual = False

    def answer_digest(self, question: Question) -> str:
        """The digest of the answer to ``question`` (asked now unless asked before)."""
        if question not in self._digests:
            method, path, limit = question
            self._ask(question, self._call(method, path, limit))
        return self._digests[question]

    def confirm(self, question: Question) -> str:
        """`answer_digest`, the question kept in the trace as if the render had asked it: what a
        part of the cache was checked against is what the render used."""
        digest = self.answer_digest(question)
        self.trace.setdefault(question, digest)
        if self.asked is not None:
            self.asked.setdefault(question, digest)
        return digest

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
        if self.asked is not None:
            self.asked.setdefault(question, self._digests[question])
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
    """Entries in one directory, one per key: ``<key>.render``; beside them, the parts a render
    with a different key may still use: ``<key>.group`` (one environment rendered),
    ``<key>.checked`` (what the checks reported in one environment), ``<code>.parsed`` (the
    values of manifest files by their bytes) and ``.emitted`` (one group's objects' YAML texts by
    their values, and beside it ``.emitted-new``, those learnt since). Rendered text follows an
    entry's JSON lines as raw UTF-8 (`_packed`)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._code: str | None = None
        self._in_use: set[str] = set()  # files this run wrote or used: never trimmed

    def distrust(self) -> str | None:
        """Why the directory's entries cannot be believed (another user owns it, or others may
        write in it: an entry whose trace matches is handed out), or None. A directory that does
        not exist yet is created for its owner alone."""
        try:
            stat = os.stat(self.directory)
        except OSError:
            return None
        getuid = getattr(os, "getuid", None)
        if getuid is not None and stat.st_uid != getuid():
            return "another user owns it"
        if getuid is not None and stat.st_mode & 0o022:
            return "others may write in it"
        return None

    def code_digest(self) -> str:
        """`code_stamp`, hashed once per run."""
        if self._code is None:
            self._code = _digest(json.dumps(code_stamp(), sort_keys=True).encode())
        return self._code

    def key(self, tree: RecordingTree, settings: dict[str, Any]) -> str:
        listing = tree.answer_digest(("walk_files", ENVIRONMENTS, 0))
        text = json.dumps(
            {"settings": settings, "code": self.code_digest(), "environments": listing},
            sort_keys=True,
        )
        return _digest(text.encode())

    def _path(self, key: str, suffix: str = SUFFIX) -> Path:
        return self.directory / f"{key}{suffix}"

    def lookup(self, key: str, tree: RecordingTree) -> RenderOutput | None:
        """The entry's output if it is whole and every answer of its trace is still the same. The
        trace is its first line: an entry of other files is a miss before its output is read."""
        try:
            data, version = _cache_file(self._path(key))
        except OSError:
            return None
        ends = _line_ends(data, 3)  # the header, the key and trace, where the texts lie
        if ends is None:
            return None
        view = memoryview(data)
        try:
            first = json.loads(data[ends[0] + 1 : ends[1]])
            if not isinstance(first, dict) or first.get("key") != key:
                return None
            trace = _trace_of(first["trace"])
        except (ValueError, TypeError, KeyError):
            return None
        if not _same_answers(trace, tree):
            return None
        if data[: ends[0]] != FORMAT + b" " + _body_digest(version, view, ends[0] + 1).encode():
            return None
        blob = view[ends[2] + 1 :]
        try:
            entry = json.loads(data[ends[1] + 1 : ends[2]])
            found = self._groups_of(entry, blob) if isinstance(entry, dict) else None
        except (ValueError, TypeError, KeyError, IndexError):
            return None
        if found is None:
            return None
        groups, used = found
        output = _output_of(groups, entry.get("stream"))
        if output is None:
            return None
        for path in (self._path(key), *used):
            self._touch(path)
        return output

    def _groups_of(
        self, entry: dict[str, Any], blob: memoryview
    ) -> tuple[dict[str, RenderedGroup], list[Path]] | None:
        """The groups an entry lists, in order: its own texts (in ``blob``, exactly), and those
        of the environments' entries it names, each exactly as it was written then (its SHA-256
        the same); and those entries' paths. None for anything else."""
        groups: dict[str, RenderedGroup] = {}
        used: list[Path] = []
        start = 0
        for part in entry["groups"]:
            name, how = part[0], part[1]
            if not isinstance(name, str) or name in groups:
                return None
            if how == "entry":
                key, digest = part[2], part[3]
                if not _is_digest(key):
                    return None  # an entry names only files of this directory
                path = self._path(key, GROUP_SUFFIX)
                read = _read_signed_entry(path, key)
                if read is None or read[2] != digest:
                    return None
                group = _group_of(read[0], read[1])
                used.append(path)
            elif how == "text":
                length = part[3]
                if type(length) is not int or length < 0:
                    return None
                group = _group_of(part[2], blob[start : start + length])
                start += length
            else:
                return None
            if group is None:
                return None
            groups[name] = group
        return (groups, used) if start == len(blob) else None

    def store(
        self,
        key: str,
        tree: RecordingTree,
        output: RenderOutput,
        written: dict[str, tuple[str, str, RenderedGroup]],
    ) -> str | None:
        """Write the entry; ``written`` are the environments' entries (key, SHA-256, group) it
        may name. Returns why it could not be written (it is only a cache), or None."""
        trace = [[*question, digest] for question, digest in sorted(tree.trace.items())]
        if list(output.groups) != output.directories:
            return None  # not rendered one group at a time
        parts: list[list[Any]] = []
        blobs: list[bytes | memoryview] = []
        for name, group in output.groups.items():
            entry = written.get(name)
            if entry is not None and entry[2] is group:
                parts.append([name, "entry", entry[0], entry[1]])
                continue
            packed = _packed(group.files, group.stream)
            if packed is None:
                return None  # text that is not UTF-8 (a lone surrogate): rendered again next time
            texts, pieces = packed
            size = sum(len(piece) for piece in pieces)
            parts.append([name, "text", {"objects": group.objects, **texts}, size])
            blobs.extend(pieces)
        layout = {"groups": parts, "stream": output.stream_parts is not None}
        body: list[bytes | memoryview] = [
            json.dumps({"key": key, "trace": trace}).encode(),
            b"\n",
            json.dumps(layout).encode(),
            b"\n",
            *blobs,
        ]
        hashed = hashlib.sha256()
        for piece in body:
            hashed.update(piece)
        header = FORMAT + b" " + hashed.hexdigest().encode() + b"\n"
        return self._write(self._path(key), [header, *body], SUFFIX, KEEP)

    def _touch(self, path: Path) -> None:
        self._in_use.add(str(path))
        with contextlib.suppress(OSError):
            before = _version_of(path, os.stat(path, follow_symlinks=False))
            now = time.time_ns()
            os.utime(path, ns=(now, now), follow_symlinks=False)  # recently used: pruned last
            _touched(before, _version_of(path, os.stat(path, follow_symlinks=False)), now)

    def trim(self, budget: int) -> None:
        """Remove the least recently used of the cache's files until they hold at most ``budget``
        bytes in all (a whole render's parts at 1,000 endpoints x 3 are about 100 MB, and each
        kind's count alone let the directory grow past 2 GB): never a file this run wrote or
        used, nor any file the cache does not name."""
        files: list[tuple[int, int, str]] = []
        total = 0
        try:
            with os.scandir(self.directory) as scan:
                for entry in scan:
                    if entry.name.startswith(TEMPORARY_PREFIX) and entry.is_file():
                        self._sweep_temporary(entry)
                        continue
                    if not CACHE_FILE.fullmatch(entry.name) or not entry.is_file():
                        continue
                    try:
                        stat = entry.stat()
                    except FileNotFoundError:
                        continue  # another run removed it meanwhile
                    total += stat.st_size
                    if entry.path not in self._in_use:
                        files.append((stat.st_mtime_ns, stat.st_size, entry.path))
        except OSError:
            return
        for _, size, path in sorted(files):
            if total <= budget:
                break
            with contextlib.suppress(OSError):
                os.unlink(path)
                total -= size

    @staticmethod
    def _sweep_temporary(entry: os.DirEntry[str]) -> None:
        """A file a write began and never finished (its process was killed between creating it and
        renaming it): removed once older than any write takes, else kept, as a run beside this one
        may be writing it."""
        with contextlib.suppress(OSError):
            if time.time() - entry.stat().st_mtime > STALE_TEMPORARY_SECONDS:
                os.unlink(entry.path)

    def _write(
        self, path: Path, data: bytes | list[bytes | memoryview], suffix: str, keep: int
    ) -> str | None:
        """Write ``data`` (or its pieces, one after the other: an entry of megabytes is not copied
        into one first) as the file ``path``, whole or not at all."""
        try:
            # only its owner may write entries: an entry whose trace matches is believed
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, dir=self.directory)
            try:
                with os.fdopen(handle, "wb") as stream:
                    if isinstance(data, list):
                        stream.writelines(data)
                    else:
                        stream.write(data)
                os.replace(temporary, path)
                self._in_use.add(str(path))
            except BaseException:
                os.unlink(temporary)
                raise
            self._prune(suffix, keep)
        except OSError as error:
            # the entry in the way (a folder where a file goes), else the directory
            return (
                f"{error.filename2 or error.filename or self.directory}: {error.strerror or error}"
            )
        return None

    def _prune(self, suffix: str = SUFFIX, keep: int = KEEP) -> None:
        entries = []
        with os.scandir(self.directory) as scan:
            for entry in scan:
                name = entry.name
                if name.endswith(suffix) and CACHE_FILE.fullmatch(name) and entry.is_file():
                    try:
                        entries.append((entry.stat().st_mtime_ns, entry.path))
                    except FileNotFoundError:
                        continue  # another run removed it meanwhile: not this write's problem
        for _, path in sorted(entries, reverse=True)[keep:]:
            with contextlib.suppress(OSError):
                os.unlink(path)


def _packed(
    files: dict[str, str], stream: str | Utf8Text | None
) -> tuple[dict[str, Any], list[bytes | memoryview]] | None:
    """Rendered texts as one run of UTF-8 bytes (in pieces), and where each lies in it (JSON): far
    cheaper to write and read than the same texts as JSON strings. None for text UTF-8 cannot
    hold."""
    try:
        blobs: list[bytes | memoryview] = [text.encode() for text in files.values()]
        if stream is None:
            tail: bytes | memoryview = b""
        else:
            tail = stream.encode() if isinstance(stream, str) else stream
    except UnicodeEncodeError:
        return None
    texts = {
        "files": [[name, len(blob)] for name, blob in zip(files, blobs, strict=True)],
        "stream": None if stream is None else len(tail),
    }
    return texts, [*blobs, tail]


def _unpacked(
    texts: dict[str, Any], blob: bytes | memoryview
) -> tuple[dict[str, str], Utf8Text | None] | None:
    """`_packed` undone: the files and the stream (as its UTF-8 bytes, written out as they are),
    or None unless the lengths cover ``blob`` exactly and every text is UTF-8."""
    files, stream = texts["files"], texts["stream"]
    if not isinstance(files, list) or not (stream is None or type(stream) is int):
        return None
    found: dict[str, str] = {}
    start = 0
    try:
        for name, length in files:
            if not isinstance(name, str) or type(length) is not int or length < 0:
                return None
            found[name] = str(blob[start : start + length], "utf-8")
            start += length
        text = None if stream is None else memoryview(blob)[start : start + stream]
        if text is not None and not _is_utf8(text):
            return None
    except UnicodeDecodeError:
        return None
    if start + (stream or 0) != len(blob) or len(found) != len(files):
        return None
    return found, text


_CHECKED_PIECE = 1 << 20


def _is_utf8(data: memoryview) -> bool:
    """Whether ``data`` is UTF-8, checked a MiB at a time without keeping its text: a piece of
    ASCII (nearly all of a rendered stream) at the speed of a copy, any other piece decoded."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(data), _CHECKED_PIECE):
            piece = bytes(data[start : start + _CHECKED_PIECE])
            if not piece.isascii() or decoder.getstate()[0]:  # or a character begun before it
                decoder.decode(piece)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _entry_bytes(body: dict[str, Any], blob: bytes = b"") -> bytes:
    return b"".join(_entry_pieces(body, [blob])[0])


def _entry_pieces(
    body: dict[str, Any], blob: list[bytes | memoryview]
) -> tuple[list[bytes | memoryview], str]:
    """`_entry_bytes` of ``body`` and the bytes of ``blob`` one after the other, as pieces to
    write, and its digest."""
    pieces: list[bytes | memoryview] = [json.dumps(body).encode(), b"\n", *blob]
    hashed = hashlib.sha256()
    for piece in pieces:
        hashed.update(piece)
    digest = hashed.hexdigest()
    return [FORMAT + b" " + digest.encode() + b"\n", *pieces], digest


def _read_entry(path: Path, key: str) -> tuple[dict[str, Any], memoryview] | None:
    """An entry's body and the bytes after it, or None for anything not exactly as `_entry_bytes`
    wrote it for ``key``."""
    read = _read_signed_entry(path, key)
    return None if read is None else (read[0], read[1])


def _cache_file_bytes(path: Path) -> bytes:
    """A cache file's bytes. **Raises:** ``OSError`` (a miss) for anything but a regular file of at
    most `MAX_CACHE_FILE_BYTES`: a FIFO would block the read forever, a link to /dev/zero would
    never end, and neither is a file the cache wrote (it writes regular files, never links)."""
    return _cache_file(path)[0]


# A file as it was read: its path, device, inode, size and times (see `_body_digest`).
FileVersion = tuple[str, int, int, int, int, int]


def _cache_file(path: Path) -> tuple[bytes, FileVersion | None]:
    """`_cache_file_bytes`, and which version of the file was read (None: it grew while read)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    descriptor = os.open(path, flags)
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_CACHE_FILE_BYTES:
            raise OSError(f"{path}: not a file the render cache wrote")
        pieces = [os.read(descriptor, status.st_size + 1)]
        size = len(pieces[0])
        while pieces[-1]:  # it grew since fstat: read on, within the bound
            if size > MAX_CACHE_FILE_BYTES:
                raise OSError(f"{path}: larger than any file the render cache writes")
            pieces.append(os.read(descriptor, 1 << 20))
            size += len(pieces[-1])
    finally:
        os.close(descriptor)
    if len(pieces) > 2:
        return b"".join(pieces), None
    return pieces[0], _version_of(path, status)


def _version_of(path: Path, status: os.stat_result) -> FileVersion:
    return (
        str(path),
        status.st_dev,
        status.st_ino,
        status.st_size,
        status.st_mtime_ns,
        status.st_ctime_ns,
    )


# What the warm server found the digest of a cache file's body to be, by the file's version and
# where the body starts: it reads the same files on every render (the texts of an environment,
# twenty megabytes and more at a thousand endpoints), and the cache never writes a file in place (it
# writes another and renames it over), so a file of the same path, inode, size and times holds the
# same bytes. The versions least recently found go first.
_BODY_DIGESTS: dict[FileVersion, dict[int, str]] = {}
_BODY_DIGESTS_KEPT = 256


def _touched(before: FileVersion, after: FileVersion, times: int) -> None:
    """The digests known of a file's version before the cache set its times (to ``times``, the
    same file) are those of its version after; the version before is gone."""
    known = _BODY_DIGESTS.pop(before, None)
    if known is not None and before[:4] == after[:4] and after[4] == times:
        _BODY_DIGESTS[after] = known  # else another file took its place, or was written since


def _body_digest(version: FileVersion | None, data: bytes | memoryview, start: int) -> str:
    """The digest of ``data`` from ``start`` (the body after a file's header), computed once per
    version of the file in the warm server, each time in any other process."""
    from llmops.warm.memo import kept_sources

    if version is None or kept_sources() is None:
        return _digest(memoryview(data)[start:])
    known = _BODY_DIGESTS.pop(version, {})
    _BODY_DIGESTS[version] = known  # the most recently found last
    digest = known.get(start)
    if digest is None:
        digest = known[start] = _digest(memoryview(data)[start:])
    while len(_BODY_DIGESTS) > _BODY_DIGESTS_KEPT:
        del _BODY_DIGESTS[next(iter(_BODY_DIGESTS))]
    return digest


def _read_signed_entry(path: Path, key: str) -> tuple[dict[str, Any], memoryview, str] | None:
    """`_read_entry`, and the SHA-256 of the entry's content (its header says it, and it is)."""
    try:
        data, version = _cache_file(path)
    except OSError:
        return None
    ends = _line_ends(data, 2)
    if ends is None:
        return None
    view = memoryview(data)
    digest = _body_digest(version, view, ends[0] + 1)
    if data[: ends[0]] != FORMAT + b" " + digest.encode():
        return None
    try:
        entry = json.loads(data[ends[0] + 1 : ends[1]])
    except ValueError:
        return None
    if not isinstance(entry, dict) or entry.get("key") != key:
        return None
    return entry, view[ends[1] + 1 :], digest


def _trace_of(written: Any) -> list[tuple[Question, str]]:
    if not isinstance(written, list):
        raise TypeError("not a list")
    return [((str(m), str(p), int(limit)), str(d)) for m, p, limit, d in written]


def _same_answers(
    trace: list[tuple[Question, str]], tree: RecordingTree, *, confirm: bool = False
) -> bool:
    """Whether every question has the same answer now (``confirm``: and keep them in the trace)."""
    ask = tree.confirm if confirm else tree.answer_digest
    for question, digest in trace:
        try:
            if ask(question) != digest:
                return False
        except Exception:
            return False
    return True


def _is_digest(value: Any) -> bool:
    """A SHA-256 as `_digest` writes it (64 lowercase hexadecimal digits)."""
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


def _is_text_map(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def _group_of(entry: Any, blob: bytes | memoryview) -> RenderedGroup | None:
    """A group's texts as `_packed` wrote them beside its object count, or None."""
    if not isinstance(entry, dict):
        return None
    objects = entry["objects"]
    texts = _unpacked(entry, blob)
    if texts is None or type(objects) is not int:
        return None
    files, stream = texts
    return RenderedGroup(objects=objects, files=files, stream=stream)


def _output_of(groups: dict[str, RenderedGroup], stream: Any) -> RenderOutput | None:
    """The whole render, its groups in order, as `compiler.build` lays them out."""
    if type(stream) is not bool or any((g.stream is not None) != stream for g in groups.values()):
        return None
    return RenderOutput.joining(groups, stream)


PARSED_SUFFIX = ".parsed"
PARSED_NEW_SUFFIX = ".parsed-new"  # what runs learnt since `.parsed` was written whole
KEEP_PARSED = 4  # one per version of the code
GROUP_SUFFIX = ".group"
KEEP_GROUPS = 64


class ParsedStore:
    """`compiler.load.estate.ParsedFiles` in the cache: one file per version of the code, a line
    per manifest file (the SHA-256 of its path and bytes, then its documents' values as JSON).
    Read whole at the start of a run. A run that learnt a file writes the lines it used that the
    file lacks into a second file beside it (`PARSED_NEW_SUFFIX`), which names the first by the
    SHA-256 of its body, while they stay fewer than half its lines and bytes (a changed file
    among a thousand: a line, not the 4.7 MB of every file's values again); else the first is
    written again whole and the second removed."""

    def __init__(self, cache: RenderCache) -> None:
        self.cache = cache
        self.path = cache.directory / f"{cache.code_digest()}{PARSED_SUFFIX}"
        self.new_path = cache.directory / f"{cache.code_digest()}{PARSED_NEW_SUFFIX}"
        # the digest of the whole file's body, its lines and bytes, when it could be read
        self._whole: tuple[bytes, int, int] | None = None
        self._in_whole: dict[str, str] = {}
        self._learnt_before: dict[str, str] = {}
        self._known = self._read()
        self._used: dict[str, str] = {}
        self._learnt = False

    def _read(self) -> dict[str, str]:
        whole = _read_lines(self.path, FORMAT + b" parsed ")
        if whole is None:
            return {}
        digest, size, known = whole
        self._in_whole, self._whole = known, (digest, len(known), size)
        learnt = _read_lines(self.new_path, FORMAT + b" parsed-new " + digest + b" ")
        if learnt is None:
            return known
        self._learnt_before = learnt[2]
        return {**learnt[2], **known}

    @staticmethod
    def _key(path: str, data: bytes) -> str:
        return _digest(path.encode("utf-8", "surrogatepass") + b"\x00" + data)

    def get(self, path: str, data: bytes) -> list[tuple[int, Any]] | None:
        key = self._key(path, data)
        text = self._known.get(key)
        if text is None:
            return None
        try:
            written = json.loads(text)
            values = [(index, value) for index, value in written]
        except (ValueError, TypeError):
            return None
        if not all(type(index) is int and isinstance(value, dict) for index, value in values):
            return None
        self._used[key] = text
        return values

    def put(self, path: str, data: bytes, values: list[tuple[int, Any]]) -> None:
        try:  # now: the compiler may change the values it holds
            text = json.dumps([[index, value] for index, value in values])
        except (ValueError, TypeError):
            return  # e.g. an integer too long to write: parsed again next time
        self._used[self._key(path, data)] = text
        self._learnt = True

    def save(self) -> str | None:
        """Write what this run read that the whole file lacks beside it, or, once that is no
        longer small beside it, the whole file again: what this run read, and as much again of
        what earlier runs read (other environments). Returns why it could not be written, or
        None."""
        if not self._learnt:
            if self._used:
                self.cache._touch(self.path)
                if self._learnt_before:
                    self.cache._touch(self.new_path)
            return None
        if self._whole is not None:
            digest, whole_lines, whole_size = self._whole
            fresh = {key: text for key, text in self._used.items() if key not in self._in_whole}
            for key, text in self._learnt_before.items():
                if len(fresh) >= 2 * len(self._used):
                    break
                fresh.setdefault(key, text)
            body = _lines_body(fresh)
            if 2 * len(fresh) <= whole_lines and 2 * len(body) <= whole_size:
                self.cache._touch(self.path)
                data = FORMAT + b" parsed-new " + digest + b" " + _digest(body).encode()
                return self.cache._write(
                    self.new_path, data + b"\n" + body, PARSED_NEW_SUFFIX, KEEP_PARSED
                )
        lines = dict(self._used)
        for key, text in self._known.items():
            if len(lines) >= 2 * len(self._used):
                break
            lines.setdefault(key, text)
        body = _lines_body(lines)
        data = FORMAT + b" parsed " + _digest(body).encode() + b"\n" + body
        problem = self.cache._write(self.path, data, PARSED_SUFFIX, KEEP_PARSED)
        if problem is None:
            with contextlib.suppress(OSError):
                self.new_path.unlink()  # it names the file written before by its digest
        return problem


def _lines_body(lines: dict[str, str]) -> bytes:
    return "".join(f"{key} {text}\n" for key, text in lines.items()).encode("ascii")


def _read_lines(path: Path, header: bytes) -> tuple[bytes, int, dict[str, str]] | None:
    """The SHA-256 of the body, its bytes and its lines (key, then values) of a file written with
    ``header`` and that digest, or None when it cannot be read or holds a line `save` does not
    write."""
    try:
        data, version = _cache_file(path)
    except OSError:
        return None
    head, newline, body = data.partition(b"\n")
    digest = _body_digest(version, data, len(head) + 1).encode()
    if not newline or head != header + digest:
        return None
    known = {}
    try:
        for line in body.decode("ascii").splitlines():
            key, space, values = line.partition(" ")
            if not space or len(key) != 64:
                return None
            known[key] = values
    except UnicodeDecodeError:
        return None
    return digest, len(body), known


EMITTED_SUFFIX = ".emitted"
# what runs learnt since their group's .emitted was written whole, beside it (`EmittedStore.save`)
EMITTED_NEW_SUFFIX = ".emitted-new"
KEEP_EMITTED = 64  # one per group (environment) and version of the code
# texts of a group kept beside those a run used (earlier versions of its objects): as many again,
# and at least this many; and in bytes a quarter of those the run used, and at least this many
# (counted alone, each changed proxy configuration, megabytes, stayed as one more text: a prod
# .emitted grew past 80 MB, every byte written again by each run that changed something)
KEEP_TEXTS = 1024
KEEP_TEXT_BYTES = 1 << 20
_TEXT_INDEX = struct.Struct(">32sQ")  # an object's key, the length of its text


def _texts_file(header: bytes, texts: dict[bytes, bytes | memoryview]) -> bytes:
    """``header``, the SHA-256 of the body, a line break, then the body: how many texts, their
    index (key and length each), and the texts."""
    index = b"".join(_TEXT_INDEX.pack(key, len(text)) for key, text in texts.items())
    body = b"".join([str(len(texts)).encode(), b"\n", index, *texts.values()])
    return header + _digest(body).encode() + b"\n" + body


def _read_texts(path: Path, header: bytes) -> tuple[bytes, dict[bytes, memoryview]] | None:
    """The SHA-256 of the body and the texts of a file `_texts_file` wrote with ``header``, or None
    when it cannot be read or does not hold exactly what its header and index say."""
    try:
        data, version = _cache_file(path)
    except OSError:
        return None
    ends = _line_ends(data, 2)  # the header, how many texts
    if ends is None or not data.startswith(header):
        return None
    view = memoryview(data)
    digest = data[len(header) : ends[0]]
    if digest != _body_digest(version, view, ends[0] + 1).encode():
        return None
    try:
        count = int(data[ends[0] + 1 : ends[1]])
    except ValueError:
        return None
    start = ends[1] + 1
    texts_start = start + count * _TEXT_INDEX.size
    if count < 0 or texts_start > len(data):
        return None
    known = {}
    offset = texts_start
    for key, length in _TEXT_INDEX.iter_unpack(view[start:texts_start]):
        known[key] = view[offset : offset + length]
        offset += length
    if offset != len(data):
        return None  # the texts are not where the index says
    return digest, known


def _with_earlier(
    texts: dict[bytes, bytes | memoryview], earlier: dict[bytes, memoryview]
) -> dict[bytes, bytes | memoryview]:
    """``texts`` (those a run used), then ``earlier`` ones it did not use: as many again (at least
    `KEEP_TEXTS` in all) within a quarter of their bytes again (at least `KEEP_TEXT_BYTES`)."""
    limit = max(2 * len(texts), KEEP_TEXTS)
    size = sum(len(text) for text in texts.values())
    size_limit = size + max(size // 4, KEEP_TEXT_BYTES)
    for key, known in earlier.items():
        if len(texts) >= limit:
            break
        if key not in texts and size + len(known) <= size_limit:
            texts[key] = known
            size += len(known)
    return texts


class EmittedStore:
    """`compiler.emit.memo.EmittedTexts` in the cache for one group (an environment, or the Argo
    CD objects): one file per group and version of the code (the emitter is part of it), the YAML
    text of every object by its key, so a run that renders one environment again reads and writes
    that environment's texts only. Read whole when the group's first object is emitted; a text is
    handed out only for the key it was written with, and a file whose digest does not match is
    not read at all.

    A run that learnt a text writes, while they stay small beside it, only the texts it used that
    the file does not hold, into a second file (`EMITTED_NEW_SUFFIX`) naming the first by its
    digest: after a change to one endpoint, a few objects and the proxy's configuration, not the
    twenty megabytes of every object of a thousand endpoints again. Once they would exceed half
    the first file's texts or bytes, the first is written again whole and the second removed."""

    def __init__(self, cache: RenderCache, group: str, parsed: ParsedObjects | None = None) -> None:
        self.cache = cache
        self.group = group
        self._parsed = parsed  # the warm server's values parsed from these texts before
        name = _digest(json.dumps([cache.code_digest(), group]).encode())
        self.path = cache.directory / f"{name}{EMITTED_SUFFIX}"
        self.new_path = cache.directory / f"{name}{EMITTED_NEW_SUFFIX}"
        self._texts: dict[bytes, memoryview] | None = None
        # the digest, text count and bytes of the file written whole, when it could be read
        self._whole: tuple[bytes, int, int] | None = None
        self._in_whole: dict[bytes, memoryview] = {}
        self._learnt_before: dict[bytes, memoryview] = {}  # what the second file holds
        self._used: dict[bytes, bytes | memoryview] = {}
        self._learnt = False

    @property
    def _known(self) -> dict[bytes, memoryview]:
        if self._texts is None:
            self._texts = self._read()
        return self._texts

    def started(self) -> bool:
        """Whether the cache holds a file of this group's texts (`start` wrote one, or a render
        kept texts), even one that cannot be read."""
        return os.path.lexists(self.path) or os.path.lexists(self.new_path)

    def start(self) -> str | None:
        """Write the group's file of texts with none in it (unless there is one): its next render
        keeps the texts it makes. Returns why it could not be written, or None."""
        if self.started():
            return None
        return self.cache._write(
            self.path, _texts_file(FORMAT + b" emitted ", {}), EMITTED_SUFFIX, KEEP_EMITTED
        )

    def _read(self) -> dict[bytes, memoryview]:
        whole = _read_texts(self.path, FORMAT + b" emitted ")
        if whole is None:
            return {}
        digest, known = whole
        self._in_whole = known
        self._whole = digest, len(known), sum(len(text) for text in known.values())
        learnt = _read_texts(self.new_path, FORMAT + b" emitted-new " + digest + b" ")
        if learnt is None:
            return known
        self._learnt_before = learnt[1]
        return {**learnt[1], **known}

    def get(self, key: bytes) -> str | None:
        data = self._known.get(key)
        if data is None:
            return None
        try:
            text = str(data, "utf-8")
        except UnicodeDecodeError:
            return None
        self._used[key] = data
        return text

    def put(self, key: bytes, text: str) -> None:
        try:
            self._used[key] = text.encode()
        except UnicodeEncodeError:
            return  # text UTF-8 cannot hold (a lone surrogate): emitted again next time
        self._learnt = True

    def parsed(self, key: bytes) -> Any | None:
        """`compiler.render.remembered.ParsedTexts`: the value the warm server parsed from the
        text of ``key`` before, while this file holds that text (which counts as used, as `get`
        would count it)."""
        if self._parsed is None:
            return None
        data = self._known.get(key)
        value = None if data is None else self._parsed.get(self.group, key)
        if value is not None and data is not None:
            self._used[key] = data
        return value

    def keep_parsed(self, key: bytes, value: Any, size: int) -> None:
        if self._parsed is not None:
            self._parsed.put(self.group, key, value, size)

    def save(self) -> str | None:
        """Write what this run emitted that the whole file does not hold beside it, or, when that
        is no longer small beside it, write the whole file again: what this run emitted, and of
        what earlier runs emitted as many texts again (or up to `KEEP_TEXTS`) within a quarter of
        its bytes again (or `KEEP_TEXT_BYTES`). Returns why it could not be written, or None."""
        if not self._learnt:
            if self._used:
                self.cache._touch(self.path)
                if self._learnt_before:
                    self.cache._touch(self.new_path)  # pruned by its own age
            return None
        if self._whole is not None:
            digest, whole_count, whole_size = self._whole
            fresh = {key: text for key, text in self._used.items() if key not in self._in_whole}
            fresh = _with_earlier(fresh, self._learnt_before)
            if 2 * len(fresh) <= max(whole_count, KEEP_TEXTS) and 2 * sum(
                len(text) for text in fresh.values()
            ) <= max(whole_size, KEEP_TEXT_BYTES):
                self.cache._touch(self.path)
                data = _texts_file(FORMAT + b" emitted-new " + digest + b" ", fresh)
                return self.cache._write(self.new_path, data, EMITTED_NEW_SUFFIX, KEEP_EMITTED)
        data = _texts_file(FORMAT + b" emitted ", _with_earlier(dict(self._used), self._known))
        problem = self.cache._write(self.path, data, EMITTED_SUFFIX, KEEP_EMITTED)
        if problem is None:
            with contextlib.suppress(OSError):
                self.new_path.unlink()  # it names the file written before by its digest
        return problem


class EmittedGroups:
    """`compiler.emit.memo.EmittedGroups` in the cache: an `EmittedStore` per group.

    A group rendered for the first time with this code (no file of its texts in the cache) keeps
    no texts: its objects are emitted and its templates rendered as without a cache, and an empty
    file of texts is written, so its next render keeps them. Keeping them costs more than they
    save the run that makes them: a render of 1,000 endpoints x 3 into an empty cache (a CI job
    that keeps no cache, the first run after an upgrade) spent about three quarters of what the
    cache added to it (0.6 of 0.8 s) on keys and texts no later run might ask for. What it costs
    instead: the group's second render, the first change after that, makes every text once more."""

    def __init__(self, cache: RenderCache, parsed: ParsedObjects | None = None) -> None:
        self.cache = cache
        self._parsed = parsed  # the warm server's (`llmops.warm.memo.ParsedObjects`)
        self._stores: dict[str, EmittedStore] = {}
        self._first: dict[str, EmittedStore] = {}  # groups rendered for the first time

    def group(self, name: str) -> EmittedStore | None:
        if name in self._first:
            return None
        if name not in self._stores:
            store = EmittedStore(self.cache, name, self._parsed)
            if not store.started():
                self._first[name] = store
                return None
            self._stores[name] = store
        return self._stores[name]

    def save(self) -> str | None:
        """Write every group's texts that learnt one, and an empty file of texts for each group
        rendered for the first time; returns why one could not be written, or None."""
        problems = [store.save() for store in self._stores.values()]
        problems += [store.start() for store in self._first.values()]
        return next((problem for problem in problems if problem is not None), None)


def _other_manifest(question: Question) -> str | None:
    """The environment whose manifests ``question`` is about (listing its folder, reading one of
    its manifest files as the loader does), or None for any other question. Remembered for paths
    of up to 256 characters (a key is made from every question of a trace, keys often)."""
    if len(question[1]) <= 256:
        return _remembered_other_manifest(question)
    return _other_manifest_of(question)


def _other_manifest_of(question: Question) -> str | None:
    from compiler.load.estate import MAX_MANIFEST_BYTES, SHARED_ENV

    method, path, limit = question
    parts = path.split("/")
    if len(parts) < 2 or parts[0] != ENVIRONMENTS or parts[1] == SHARED_ENV:
        return None
    if method == "walk_files" and len(parts) == 2:
        return parts[1]
    if method == "read_bytes" and limit == MAX_MANIFEST_BYTES and len(parts) > 2:
        return parts[1]
    return None


_remembered_other_manifest = functools.lru_cache(maxsize=1 << 16)(_other_manifest_of)


def _part_key(
    cache: RenderCache,
    trace: dict[Question, str],
    settings: dict[str, Any],
    part: str,
    reads: set[str],
) -> str:
    """A part's key: the settings, the code, and every answer of ``trace`` except those about the
    manifests of environments not in ``reads``."""
    kept = sorted(
        [*question, digest]
        for question, digest in trace.items()
        if _other_manifest(question) in (None, *reads)
    )
    text = json.dumps(
        {
            "settings": settings,
            "code": cache.code_digest(),
            "part": part,
            "reads": sorted(reads),
            "trace": kept,
        },
        sort_keys=True,
    )
    return _digest(text.encode())


def _manifests_digest(trace: dict[Question, str], name: str) -> str:
    """The answers about environment ``name``'s manifests."""
    kept = sorted([*q, d] for q, d in trace.items() if _other_manifest(q) == name)
    return _digest(json.dumps(kept).encode())


class GroupStore:
    """`compiler.build.RenderedGroups` in the cache: an environment's rendered text, found by the
    render's settings, the code, and the answers to every question of the trace except those about
    the manifests of the environments it does not read; used only while the questions its own
    render asked still have the same answers."""

    def __init__(self, cache: RenderCache, tree: RecordingTree, settings: dict[str, Any]) -> None:
        self.cache = cache
        self.tree = tree
        self.settings = settings
        self.problems: list[str] = []
        # environment -> its entry as read or written in this run: key, SHA-256, the group
        self.written: dict[str, tuple[str, str, RenderedGroup]] = {}
        self._asked: dict[str, dict[Question, str]] = {}
        self._keys: dict[str, str] = {}
        # the trace as validation left it (the first lookup comes right after): every key is made
        # from it, whatever the renders of other environments ask in between
        self._trace: dict[Question, str] | None = None

    def _key(self, name: str, reads: set[str]) -> str:
        if self._trace is None:
            self._trace = dict(self.tree.trace)
        return _part_key(self.cache, self._trace, self.settings, f"group {name}", reads)

    def lookup(self, env: Any, reads: set[str]) -> RenderedGroup | None:
        key = self._keys[env.name] = self._key(env.name, reads)
        path = self.cache._path(key, GROUP_SUFFIX)
        read = _read_signed_entry(path, key)
        if read is None:
            return None
        entry, blob, digest = read
        try:
            asked = _trace_of(entry["asked"])
            texts, objects = _unpacked(entry, blob), entry["objects"]
        except (ValueError, TypeError, KeyError):
            return None
        if texts is None:
            return None
        files, stream = texts
        if (
            type(objects) is not int
            or bool(files) != self.settings["files"]
            or (stream is not None) != self.settings["stream"]
            or not _same_answers(asked, self.tree, confirm=True)
        ):
            return None
        self.cache._touch(path)
        group = RenderedGroup(objects=objects, files=files, stream=stream)
        self.written[env.name] = (key, digest, group)
        return group

    @contextlib.contextmanager
    def rendering(self, env: Any) -> Iterator[None]:
        outer, self.tree.asked = self.tree.asked, {}
        try:
            yield
            self._asked[env.name] = self.tree.asked
        finally:
            self.tree.asked = outer

    def store(self, env: Any, reads: set[str], group: RenderedGroup) -> None:
        key = self._keys.get(env.name)
        packed = _packed(group.files, group.stream)
        if self.tree.unusual or env.name not in self._asked or key is None or packed is None:
            return
        texts, blob = packed
        body = {
            "key": key,
            "asked": [[*question, digest] for question, digest in self._asked[env.name].items()],
            "objects": group.objects,
            **texts,
        }
        pieces, digest = _entry_pieces(body, blob)
        problem = self.cache._write(
            self.cache._path(key, GROUP_SUFFIX), pieces, GROUP_SUFFIX, KEEP_GROUPS
        )
        if problem is not None:
            self.problems.append(problem)
            return
        self.written[env.name] = (key, digest, group)


CHECKED_SUFFIX = ".checked"
KEEP_CHECKED = 64
# every kind of file the cache writes (`RenderCache.trim` counts and removes these only)
CACHE_SUFFIXES = (
    SUFFIX,
    PARSED_SUFFIX,
    PARSED_NEW_SUFFIX,
    GROUP_SUFFIX,
    EMITTED_SUFFIX,
    EMITTED_NEW_SUFFIX,
    CHECKED_SUFFIX,
)
# the name of a file the cache writes: a SHA-256 in hex and one of those suffixes (a user's
# `notes.checked` in the same directory is not the cache's to remove)
CACHE_FILE = re.compile(
    "[0-9a-f]{64}(?:" + "|".join(re.escape(suffix) for suffix in CACHE_SUFFIXES) + ")"
)
TEMPORARY_PREFIX = ".entry-"  # a file being written, renamed to its entry's name when whole
STALE_TEMPORARY_SECONDS = 3600


def _span_json(span: Span) -> list[object]:
    return [span.file, span.line, span.column, span.end_line, span.end_column]


def _span_of(written: Any) -> Span:
    file, line, column, end_line, end_column = written
    return Span(str(file), int(line), int(column), end_line, end_column)


def _reported_json(found: Attributed) -> list[object]:
    """A diagnostic a check reported, as JSON (its rule is the check's own)."""
    d = found.diagnostic
    return [
        [d.code, d.name, str(d.severity), d.message, _span_json(d.span), list(d.path), d.hint],
        [[_span_json(related.span), related.message] for related in d.related],
        [d.subject, list(d.environments)],
        [found.environment, _span_json(found.document)],
    ]


def _reported_of(written: Any, rule: Rule) -> Attributed:
    from compiler.check.runner import Attributed

    (code, name, severity, message, span, path, hint), related, extra, where = written
    subject, environments = extra
    environment, document = where
    diagnostic = Diagnostic(
        code=code,
        name=name,
        severity=Severity(severity),
        message=message,
        span=_span_of(span),
        path=tuple(path),
        hint=hint,
        related=tuple(Related(_span_of(place), text) for place, text in related),
        subject=subject,
        environments=tuple(environments),
        rule=rule,
    )
    return Attributed(diagnostic, environment, _span_of(document))


def _reported_keeps(found: list[Attributed], rule: Rule) -> bool:
    """Whether what a check reported reads back exactly as it was (and so may be kept)."""
    try:
        written = json.loads(json.dumps([_reported_json(f) for f in found]))
        again = [_reported_of(w, rule) for w in written]
    except (ValueError, TypeError):
        return False
    return again == found and [_reported_json(f) for f in again] == written


class CheckStore:
    """`compiler.check.runner.KnownChecks` in the cache: per environment, what each check reported
    (nothing, or its diagnostics), found by the settings, the code and every answer of the trace
    except those about other environments' manifests. Checks share what they compute
    (`ResolvedEnvironment.remember`), so an entry holds every question any check asked in its run
    until then: all of them must have the same answers; and each check is skipped only while the
    manifests of the peers it read are the same."""

    def __init__(
        self,
        cache: RenderCache,
        tree: RecordingTree,
        settings: dict[str, Any],
        texts: EmittedGroups | None = None,
    ) -> None:
        self.cache = cache
        self.tree = tree
        self.settings = settings
        # texts made before in each environment (K009 measures the JSON render writes)
        self.texts = texts
        self.problems: list[str] = []
        self._keys: dict[str, str] = {}
        # environment -> check -> {"peers": the peers it read, "reported": its diagnostics}
        self._kept: dict[str, dict[str, Any]] = {}
        # every question asked by a check (or confirmed for one) in this run so far
        self._asked: dict[Question, str] = {}
        # the trace as loading left it (the first lookup comes right after resolving)
        self._trace: dict[Question, str] | None = None
        # environment -> `_manifests_digest` of that trace (asked per check and peer)
        self._peer_digests: dict[str, str] = {}

    def lookup(self, env: Any) -> dict[str, list[Attributed]]:
        if self._trace is None:
            self._trace = dict(self.tree.trace)
        key = self._keys[env.name] = _part_key(
            self.cache, self._trace, self.settings, f"checks {env.name}", {env.name}
        )
        path = self.cache._path(key, CHECKED_SUFFIX)
        read = _read_entry(path, key)
        self._kept[env.name] = {}
        if read is None or read[1] or not isinstance(read[0].get("checks"), dict):
            return {}
        entry = read[0]
        try:
            asked = _trace_of(entry["asked"])
        except (ValueError, TypeError, KeyError):
            return {}
        outer, self.tree.asked = self.tree.asked, self._asked
        try:
            if not _same_answers(asked, self.tree, confirm=True):
                return {}
        finally:
            self.tree.asked = outer
        rules = _check_rules()
        known: dict[str, list[Attributed]] = {}
        for check, record in entry["checks"].items():
            try:
                peers, written = record["peers"], record["reported"]
                if (
                    check not in rules
                    or not _is_text_map(peers)
                    or not all(self._peer_digest(name) == digest for name, digest in peers.items())
                ):
                    continue
                known[check] = [_reported_of(found, rules[check]) for found in written]
            except (ValueError, TypeError, KeyError):
                continue
            self._kept[env.name][check] = record
        if known:
            self.cache._touch(path)
        return known

    def _peer_digest(self, name: str) -> str:
        """`_manifests_digest` of the trace the keys were made from, once per environment: each
        costs a pass over the whole trace, and every check names its peers."""
        assert self._trace is not None, "made at the first lookup"
        if name not in self._peer_digests:
            self._peer_digests[name] = _manifests_digest(self._trace, name)
        return self._peer_digests[name]

    @contextlib.contextmanager
    def checking(self, env: Any, check: str) -> Iterator[None]:
        from compiler.render.remembered import remembering

        texts = None if self.texts is None else self.texts.group(env.name)
        outer, self.tree.asked = self.tree.asked, self._asked
        try:
            with remembering(texts):
                yield
        finally:
            self.tree.asked = outer

    def store(self, env: Any, ran: dict[str, CheckRun]) -> None:
        key = self._keys.get(env.name)
        if self.tree.unusual or key is None or self._trace is None:
            return
        records = dict(self._kept.get(env.name, {}))
        rules = _check_rules()
        for check, run in ran.items():
            if run.reported and not _reported_keeps(run.reported, rules[check]):
                continue
            records[check] = {
                "peers": {name: self._peer_digest(name) for name in sorted(run.peers)},
                "reported": [_reported_json(found) for found in run.reported],
            }
        asked = [[*question, digest] for question, digest in sorted(self._asked.items())]
        body = {"key": key, "asked": asked, "checks": records}
        problem = self.cache._write(
            self.cache._path(key, CHECKED_SUFFIX), _entry_bytes(body), CHECKED_SUFFIX, KEEP_CHECKED
        )
        if problem is not None:
            self.problems.append(problem)


def _check_rules() -> dict[str, Rule]:
    """Each check's rule by its `check_id`."""
    from compiler.check.registry import CHECKS
    from compiler.check.runner import check_id

    return {check_id(index, check): check.rule for index, check in enumerate(CHECKS)}
