"""Discover and read an estate: ``environments/<env>/**/*.y{a,}ml`` plus
``environments/_shared``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from compiler.diagnostics import Diagnostic, make_diagnostic
from compiler.errors import LlmopsError
from compiler.load import rules
from compiler.load.document import SourceFile
from compiler.load.text import decode_utf8
from compiler.load.tree import FileProblem, RepoTree
from compiler.load.unread import UnreadPart, kind_words
from compiler.load.yaml_strict import clean_values, documents_read_before, parse_manifest_file
from compiler.positions import Span
from compiler.printable import shown_argument

ENVIRONMENTS_DIR = "environments"
SHARED_ENV = "_shared"
MAX_MANIFEST_BYTES = 1024 * 1024
MANIFEST_SUFFIXES = (".yaml", ".yml")
_ENV_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")


@dataclass(eq=False, repr=False)
class LoadedEstate:
    """Every manifest file of the selected environments, parsed, with the loader's diagnostics."""

    environments: list[str]
    files: dict[str, SourceFile] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)  # file -> environment name or "_shared"
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # what files may hold beyond what was read
    unread: list[UnreadPart] = field(default_factory=list)


class ParsedFiles(Protocol):
    """What earlier runs read from manifest files (the edge keeps it, llmops/render_cache.py): a
    file's bytes give its documents' values again, without parsing it. Only files read without any
    diagnostic are kept."""

    def get(self, path: str, data: bytes) -> list[tuple[int, Any]] | None:
        """(index, value) of each document of the file at ``path`` holding ``data``, if known."""
        ...

    def put(self, path: str, data: bytes, values: list[tuple[int, Any]]) -> None: ...


class SourceFiles(Protocol):
    """What a process that goes on (the warm server, llmops/cli/warm_server.py) read in earlier
    commands: a file's bytes give back the very `SourceFile` read then, whose documents keep what
    validating them found. Only files read without any diagnostic or unread part are kept."""

    def get(self, path: str, data: bytes) -> SourceFile | None: ...

    def put(self, path: str, data: bytes, source: SourceFile) -> None: ...


def list_environments(tree: RepoTree) -> list[str]:
    """Environment folder names, sorted; folders starting with ``.`` or ``_`` are not
    environments."""
    if not tree.is_dir(ENVIRONMENTS_DIR):
        raise LlmopsError(
            f"no `{ENVIRONMENTS_DIR}/` directory here: this is not an llmops estate",
            hint="run `llmops init` to create one, or pass the repository path",
        )
    return [
        name
        for name in tree.list_dir(ENVIRONMENTS_DIR)
        if not name.startswith((".", "_")) and tree.is_dir(f"{ENVIRONMENTS_DIR}/{name}")
    ]


def select_environments(available: list[str], only: str | None) -> list[str]:
    if only is None:
        return available
    if only not in available:
        known = ", ".join(available) or "none"
        raise LlmopsError(
            f"environment `{shown_argument(only)}` does not exist (environments: {known})"
        )
    return [only]


def load_estate(
    tree: RepoTree,
    only_env: str | None = None,
    *,
    with_shared: bool = True,
    parsed: ParsedFiles | None = None,
    sources: SourceFiles | None = None,
) -> LoadedEstate:
    """Read the manifests of every environment (or just ``only_env``) and of ``_shared`` (unless
    ``with_shared`` is false: a caller that has read it already). ``parsed`` and ``sources`` spare
    parsing files read before (the result is the same).

    Raises ``LlmopsError`` only when the repository itself is unusable; everything wrong inside a
    file becomes a diagnostic.
    """
    available = list_environments(tree)
    escaping = _escaping_folders(tree)
    reported = [
        (path, problem)
        for name, path, problem in escaping
        if only_env in (None, name) or name == SHARED_ENV
    ]
    if only_env is not None and any(name == only_env for name, _, _ in escaping):
        # the folder is there, but cannot be read: the diagnostic says why
        environments: list[str] = []
    else:
        environments = select_environments(available, only_env)
    estate = LoadedEstate(environments=environments)
    estate.diagnostics.extend(_problem_diagnostic(path, problem) for path, problem in reported)
    origins = list(environments)
    if with_shared and tree.is_dir(f"{ENVIRONMENTS_DIR}/{SHARED_ENV}"):
        origins.insert(0, SHARED_ENV)
    for origin in origins:
        paths, problems = tree.walk_files(f"{ENVIRONMENTS_DIR}/{origin}")
        for path, problem in problems:
            estate.diagnostics.append(_problem_diagnostic(path, problem))
            # a manifest or a folder
            if path.endswith(MANIFEST_SUFFIXES) or "." not in path.rsplit("/", 1)[-1]:
                estate.origin[path] = origin
                estate.unread.append(UnreadPart(path, problem.line, None, whole_file=True))
        for path in paths:
            if path.endswith(MANIFEST_SUFFIXES):
                estate.origin[path] = origin
                estate.files[path] = _read_manifest_file(
                    tree, path, estate.diagnostics, estate.unread, parsed, sources
                )
    return estate


def _escaping_folders(tree: RepoTree) -> list[tuple[str, str, FileProblem]]:
    """Entries of environments/ that are links leaving the repository: (name, path, problem).

    ``list_environments`` cannot see them as folders (the tree refuses to follow them), so without
    this an environment linked from elsewhere would silently not exist. Asking for none of an
    entry's bytes (a zero limit) makes the tree say why it cannot be read without reading it.
    """
    found = []
    for name in tree.list_dir(ENVIRONMENTS_DIR):
        path = f"{ENVIRONMENTS_DIR}/{name}"
        if name.startswith(".") or tree.is_dir(path):
            continue
        try:
            tree.read_bytes(path, 0)
        except FileProblem as problem:
            if problem.rule is rules.PATH_ESCAPES_REPO:
                found.append((name, path, problem))
    return found


def _problem_diagnostic(path: str, problem: FileProblem) -> Diagnostic:
    return make_diagnostic(
        problem.rule, problem.message, Span(path, problem.line, problem.column), hint=problem.hint
    )


def _read_manifest_file(
    tree: RepoTree,
    path: str,
    diagnostics: list[Diagnostic],
    unread: list[UnreadPart],
    parsed: ParsedFiles | None = None,
    sources: SourceFiles | None = None,
) -> SourceFile:
    try:
        data = tree.read_bytes(path, MAX_MANIFEST_BYTES)
    except FileProblem as problem:
        diagnostics.append(_problem_diagnostic(path, problem))
        unread.append(UnreadPart(path, 1, None, whole_file=True))
        return SourceFile(path=path, text="")
    try:
        text = decode_utf8(data)
    except FileProblem as problem:
        diagnostics.append(_problem_diagnostic(path, problem))
        # enough to see which kinds it holds
        words = kind_words(data.decode("utf-8", errors="replace"))
        unread.append(UnreadPart(path, 1, words, whole_file=True))
        return SourceFile(path=path, text="")
    if sources is not None:
        kept = sources.get(path, data)
        if kept is not None:
            return kept
    if parsed is not None:
        known = parsed.get(path, data)
        if known is not None:
            source = SourceFile(
                path=path, text=text, documents=documents_read_before(path, text, known)
            )
            if sources is not None:
                sources.put(path, data, source)
            return source
    documents, problems, parts = parse_manifest_file(path, text)
    source = SourceFile(path=path, text=text, documents=documents)
    if parsed is not None or sources is not None:
        values = clean_values(documents, problems, parts)
        if values is not None and parsed is not None:
            parsed.put(path, data, values)
        if values is not None and sources is not None:
            sources.put(path, data, source)
    diagnostics.extend(problems)
    unread.extend(parts)
    return source


def is_valid_environment_name(name: str) -> bool:
    return len(name) <= 63 and bool(_ENV_NAME.fullmatch(name))
