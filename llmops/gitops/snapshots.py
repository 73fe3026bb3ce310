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

from compiler.load.estate import ENVIRONMENTS_DIR, MANIFEST_SUFFIXES, MAX_MANIFEST_BYTES, SHARED_ENV
from compiler.load.text import decode_utf8
from compiler.load.tree import FileProblem
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
        self._folders: dict[tuple[str, str], dict[Key, DocumentState]] = {}
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
            if blob.size <= MAX_MANIFEST_BYTES:
                try:
                    text = decode_utf8(blob.data_stream.read())
                except FileProblem:
                    text = ""
                documents, _ = parse_documents(path, text)
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
        compiler)."""
        try:
            tree = commit.tree / self.folder_path(origin)
        except KeyError:
            return {}
        if tree.type != "tree":
            return {}
        cache_key = (tree.hexsha, origin)
        documents = self._folders.get(cache_key)
        if documents is None:
            documents = {}
            for blob in _manifest_blobs(tree):
                relative = f"{ENVIRONMENTS_DIR}/{origin}/{posixpath.relpath(blob.path, tree.path)}"
                for index, key, data, digest in self._parsed(blob, relative):
                    documents.setdefault(
                        key, DocumentState(origin, relative, index, key, data, digest)
                    )
            self._folders[cache_key] = documents
        return documents

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

    def commits(self, head: git.Commit, env: str) -> Iterator[git.Commit]:
        """Commits that touched the environment or _shared, newest first (git's history
        simplification: a merge that took one side unchanged is skipped, and so is the side it did
        not take)."""
        import git

        from llmops.gitops.object_store import walk_failed

        paths = [self.folder_path(env), self.folder_path(SHARED_ENV)]
        try:
            yield from self.repo.iter_commits(head, paths=paths, topo_order=True)
        except git.GitCommandError as error:
            stderr = error.stderr if isinstance(error.stderr, str) else str(error.stderr)
            raise walk_failed(str(self.repo.common_dir), stderr) from None


def _manifest_blobs(tree: Any) -> Iterator[Any]:
    for item in tree.traverse(
        prune=lambda entry, depth: entry.name.startswith("."),
        predicate=lambda entry, depth: entry.type == "blob",
    ):
        if item.path.endswith(MANIFEST_SUFFIXES) and item.mode & 0o170000 != 0o120000:
            yield item
