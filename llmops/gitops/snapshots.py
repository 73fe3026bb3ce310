"""The manifests of one environment at any commit, read from git objects and cached by object id.

History, rollback and the approval audit walk many commits; most of them leave most files alone.
Caching the parsed documents of each blob, and the document map of each environment folder's tree,
makes a walk cost about one parse per distinct file version rather than one per commit.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from compiler.diagnostics import Severity
from compiler.load import rules
from compiler.load.estate import ENVIRONMENTS_DIR, MANIFEST_SUFFIXES, MAX_MANIFEST_BYTES, SHARED_ENV
from compiler.load.text import decode_utf8
from compiler.load.tree import FileProblem, format_size
from compiler.load.yaml_strict import parse_documents
from compiler.records import record
from compiler.resolve.estate import ENV_ONLY_KINDS
from compiler.spec.kinds import KINDS

if TYPE_CHECKING:
    import git

Key = tuple[str, str, str | None]  # kind, name, version


@record
class DocumentState:
    """One manifest document as committed: where it is and what it says."""

    origin: str  # the environment folder, or _shared
    file: str  # estate-relative path
    index: int  # position among the file's documents
    key: Key
    data: Any
    digest: str  # of the canonical JSON of `data`: equal digests, equal manifests


def document_digest(data: Any) -> str:
    canonical = json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _key(data: Any) -> Key | None:
    if not isinstance(data, dict):
        return None
    kind, metadata, spec = data.get("kind"), data.get("metadata"), data.get("spec")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    version = spec.get("version") if isinstance(spec, dict) else None
    if not isinstance(kind, str) or not isinstance(name, str):
        return None
    versioned = kind in KINDS and KINDS[kind].versioned
    return (kind, name, str(version) if versioned and version is not None else None)


class EstateSnapshots:
    """Documents of the estate at `prefix` in `repo`, per commit and environment."""

    def __init__(self, repo: git.Repo, prefix: str = ""):
        self.repo = repo
        self.prefix = prefix
        self._blobs: dict[str, list[tuple[int, Key, Any, str]]] = {}
        # why a blob's documents could not all be read (by object id), for history to say so
        self._unreadable_blobs: dict[str, str] = {}
        # the folders' unreadable files, by the key of their documents' cache
        self._unreadable: dict[tuple[str, str], dict[str, str]] = {}
        self._folders: dict[tuple[str, str], dict[Key, DocumentState]] = {}
        # folders with links, by commit and origin (their documents depend on more than their tree)
        self._linked_folders: dict[tuple[str, str], dict[Key, DocumentState]] = {}
        self._effective: dict[tuple[str, str], dict[Key, DocumentState]] = {}

    def folder_path(self, origin: str) -> str:
        return (
            posixpath.join(self.prefix, ENVIRONMENTS_DIR, origin)
            if self.prefix
            else f"{ENVIRONMENTS_DIR}/{origin}"
        )

    def _parsed(self, blob: Any, path: str) -> list[tuple[int, Key, Any, str]]:
        cached = self._blobs.get(blob.hexsha)
        if cached is None:
            cached = []
            if blob.size > MAX_MANIFEST_BYTES:
                self._unreadable_blobs[blob.hexsha] = (
                    f"{rules.FILE_TOO_LARGE.code}: larger than {format_size(MAX_MANIFEST_BYTES)}"
                )
            else:
                try:
                    text = decode_utf8(blob.data_stream.read())
                except FileProblem as problem:
                    text = ""
                    self._unreadable_blobs[blob.hexsha] = f"{problem.rule.code}: {problem.message}"
                documents, problems = parse_documents(path, text)
                error = next((p for p in problems if p.severity is Severity.ERROR), None)
                if error is not None and blob.hexsha not in self._unreadable_blobs:
                    self._unreadable_blobs[blob.hexsha] = (
                        f"{error.code}: {error.message} (line {error.span.line})"
                    )
                if error is not None:  # a version the loader refuses is none (`!!python/...`)
                    documents = []
                for document in documents:
                    key = _key(document.data)
                    if key is not None:
                        cached.append(
                            (document.index, key, document.data, document_digest(document.data))
                        )
            self._blobs[blob.hexsha] = cached
        return cached

    def folder(self, commit: git.Commit, origin: str) -> dict[Key, DocumentState]:
        """The documents of one environment folder (first of each identity wins, as in the
        compiler), links inside the repository followed as a checkout follows them: a manifest
        reached through a link is audited, and its history read, like any other. A folder
        without links is cached by its tree, so a walk over many commits parses each version of
        it once."""
        tree = _follow(commit.tree, self.folder_path(origin))
        if tree is None or tree.type != "tree":
            return {}
        cache_key = (tree.hexsha, origin)
        documents = self._folders.get(cache_key)
        if documents is not None:
            return documents
        linked_key = (commit.hexsha, origin)
        documents = self._linked_folders.get(linked_key)
        if documents is not None:
            return documents
        documents = {}
        unreadable = {}
        linked = False
        for relative, blob, through_link in _manifest_blobs(commit.tree, tree):
            linked = linked or through_link
            path = f"{ENVIRONMENTS_DIR}/{origin}/{relative}"
            if blob is None:
                unreadable[path] = (
                    f"{rules.UNREADABLE_FILE.code}: a link that leads nowhere in the repository "
                    "(broken, leaving it, or looping)"
                )
                continue
            for index, key, data, digest in self._parsed(blob, path):
                documents.setdefault(key, DocumentState(origin, path, index, key, data, digest))
            if blob.hexsha in self._unreadable_blobs:
                unreadable[path] = self._unreadable_blobs[blob.hexsha]
        if linked:  # what it holds depends on other trees of the commit too
            self._linked_folders[linked_key] = documents
            self._unreadable[linked_key] = unreadable
        else:
            self._folders[cache_key] = documents
            self._unreadable[cache_key] = unreadable
        return documents

    def unreadable(self, commit: git.Commit, env: str) -> dict[str, str]:
        """The files of ``env`` and `_shared` at ``commit`` whose documents could not all be read,
        and why (`Y001: ...`)."""
        found: dict[str, str] = {}
        for origin in (env, SHARED_ENV):
            self.folder(commit, origin)
            tree = _follow(commit.tree, self.folder_path(origin))
            if tree is None or tree.type != "tree":
                continue
            found.update(
                self._unreadable.get((tree.hexsha, origin))
                or self._unreadable.get((commit.hexsha, origin))
                or {}
            )
        return found

    def submodule_holding(self, commit: git.Commit, file: str) -> str | None:
        """The git submodule (its repository path) that ``file`` (estate-relative) is in at
        ``commit``, links along it followed; None when it is in this repository."""
        path = posixpath.join(self.prefix, file) if self.prefix else file
        return _submodule_on(commit.tree, path)

    def has_links(self, commit: git.Commit, origin: str) -> bool:
        """Whether the folder, or anything in it, is a link at ``commit``."""
        self.folder(commit, origin)
        return (commit.hexsha, origin) in self._linked_folders or _path_has_link(
            commit.tree, self.folder_path(origin)
        )

    def effective(self, commit: git.Commit, env: str) -> dict[Key, DocumentState]:
        """What `env` deploys at `commit`: its own documents, plus the shared ones it does not
        override."""
        cache_key = (commit.hexsha, env)
        result = self._effective.get(cache_key)
        if result is None:
            own = self.folder(commit, env)
            shared = {
                key: state
                for key, state in self.folder(commit, SHARED_ENV).items()
                if key[0] not in ENV_ONLY_KINDS
            }
            result = {**shared, **own}
            self._effective[cache_key] = result
        return result

    def commits(
        self, head: git.Commit, env: str, also: tuple[str, ...] = ()
    ) -> Iterator[git.Commit]:
        """Commits that touched the environment, _shared or the environments in ``also``, newest
        first (git's history simplification: a merge that took one side unchanged is skipped, and
        so is the side it did not take)."""
        import git

        from llmops.gitops.object_store import walk_failed

        origins = (env, SHARED_ENV, *also)
        paths = [self.folder_path(origin) for origin in dict.fromkeys(origins)]
        if any(self.has_links(head, origin) for origin in origins):
            # a commit that changes only what a link leads to changes the environment too
            paths = []
        try:
            yield from self.repo.iter_commits(head, paths=paths, topo_order=True)
        except git.GitCommandError as error:
            stderr = error.stderr if isinstance(error.stderr, str) else str(error.stderr)
            raise walk_failed(str(self.repo.common_dir), stderr) from None


_LINK_MODE = 0o120000
_MAX_LINK_HOPS = 8
_MAX_LINKED_FOLDERS = 64  # linked folders followed in one environment folder


def _is_link(entry_or_root: Any, path: str | None = None) -> bool:
    if path is not None:
        try:
            entry_or_root = entry_or_root / path
        except KeyError:
            return False
    return bool(getattr(entry_or_root, "mode", 0) & 0o170000 == _LINK_MODE)


def _path_has_link(root: Any, path: str) -> bool:
    """Whether the folder at ``path``, or a folder above it, is a link."""
    parts = [part for part in path.split("/") if part not in ("", ".")]
    return any(_is_link(root, "/".join(parts[:end])) for end in range(1, len(parts) + 1))


_SUBMODULE_MODE = 0o160000


def _submodule_on(root: Any, path: str) -> str | None:
    """The submodule entry on ``path`` of the commit whose tree is ``root``, links followed."""
    return _walk(root, path)[1]


def _follow(root: Any, path: str) -> Any:
    """The object at ``path`` of the commit whose tree is ``root``, with every link along it
    followed; None when there is none, or a link leaves the repository or loops."""
    return _walk(root, path)[0]


def _walk(root: Any, path: str) -> tuple[Any, str | None]:
    """(the object at ``path``, None) with every link along it followed, or (None, the submodule
    it goes into); (None, None) when there is nothing there, or a link leaves the repository or
    loops."""
    parts = [part for part in path.split("/") if part not in ("", ".")]
    done: list[str] = []
    hops = 0
    while len(done) < len(parts):
        current = "/".join([*done, parts[len(done)]])
        try:
            entry = root / current
        except KeyError:
            return None, None
        mode = getattr(entry, "mode", 0) & 0o170000
        if mode == _SUBMODULE_MODE:
            return None, current
        if mode != _LINK_MODE:
            done.append(parts[len(done)])
            continue
        hops += 1
        if hops > _MAX_LINK_HOPS:
            return None, None
        target = entry.data_stream.read().decode("utf-8", errors="replace")
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(current), target))
        if target.startswith("/") or joined == ".." or joined.startswith("../"):
            return None, None
        parts = ([] if joined == "." else joined.split("/")) + parts[len(done) + 1 :]
        done = []
    return (root if not done else root / "/".join(done)), None


def _manifest_blobs(root: Any, folder: Any) -> Iterator[tuple[str, Any, bool]]:
    """(path under ``folder``, blob, whether reached through a link) of every manifest file in
    ``folder``, in the commit whose tree is ``root``; links to files and folders inside the
    repository are followed (a folder reached twice is read once), and a manifest's link that
    leads nowhere in it comes with no blob (None)."""
    seen = {folder.hexsha}
    pending: list[tuple[str, Any, bool]] = [("", folder, False)]
    while pending:
        prefix, tree, through_link = pending.pop(0)
        for item in tree.traverse(
            # by path: a submodule's entry has no name without its .gitmodules
            prune=lambda entry, depth: posixpath.basename(entry.path).startswith("."),
            predicate=lambda entry, depth: entry.type == "blob",
        ):
            relative = prefix + posixpath.relpath(item.path, tree.path)
            if not _is_link(item):
                if item.path.endswith(MANIFEST_SUFFIXES):
                    yield relative, item, through_link
                continue
            target = _follow(root, item.path)
            if target is None:  # broken, leaving the repository or looping: nothing to read
                if relative.endswith(MANIFEST_SUFFIXES):
                    yield relative, None, True
                continue
            if target.type == "blob" and relative.endswith(MANIFEST_SUFFIXES):
                yield relative, target, True
            elif target.type == "tree" and target.hexsha not in seen:
                if len(seen) > _MAX_LINKED_FOLDERS:
                    continue
                seen.add(target.hexsha)
                pending.append((relative + "/", target, True))
