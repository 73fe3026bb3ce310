"""An endpoint's recent git history for its page: what `llmops history` prints, when the estate is a
git checkout (git is imported only here, and only when a page asks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compiler.errors import LlmopsError
from compiler.printable import escape_controls

SHOWN_COMMITS = 10


def recent_history(root: Path, env: str, endpoint: str) -> tuple[list[dict[str, Any]], str | None]:
    """At most ``SHOWN_COMMITS`` entries, newest first; or none and why (not a git checkout, no
    commits, the endpoint has no history yet)."""
    try:
        from llmops.gitops.commits import current_commit
        from llmops.gitops.history import EndpointHistory
        from llmops.gitops.history_entries import history_entry
        from llmops.gitops.rollback_marks import marked_changes
        from llmops.gitops.snapshots import EstateSnapshots
        from llmops.gitops.tree import open_repository
    except ImportError as error:
        return [], f"git history needs {error.name}, which is not installed"
    try:
        repo, prefix = open_repository(root)
        head = current_commit(repo)
        endpoint_history = EndpointHistory(EstateSnapshots(repo, prefix), env, endpoint)
        entries: list[dict[str, Any]] = []
        for marked in marked_changes(endpoint_history.changes(head), endpoint_history):
            entries.append(_printable(history_entry(marked)))
            if len(entries) >= SHOWN_COMMITS:
                break
    except LlmopsError as error:
        return [], error.message
    if not entries:
        return [], "no commit has changed this endpoint yet (is it committed?)"
    return entries, None


def _printable(value: Any) -> Any:
    """``value`` with control, bidi and zero-width characters in its text escaped, as `llmops
    history` prints them: a commit subject's U+202E reordered the page's history line."""
    if isinstance(value, str):
        return escape_controls(value)
    if isinstance(value, dict):
        return {key: _printable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_printable(item) for item in value]
    return value


def last_committed(root: Path, files: list[str]) -> tuple[dict[str, str], str | None]:
    """When each file (estate-relative) was last committed, e.g. an Approval: the manifest records
    who and the digest, git records when. Files never committed are left out; none at all and why
    when the estate is not a git checkout."""
    try:
        from llmops.gitops.commits import authored_date
        from llmops.gitops.tree import open_repository
    except ImportError as error:
        return {}, f"dates need {error.name}, which is not installed"
    try:
        repo, prefix = open_repository(root)
        if not repo.head.is_valid():
            return {}, "the repository has no commits yet"
        dates = {}
        for file in files:
            path = f"{prefix}/{file}" if prefix else file
            commit = next(repo.iter_commits(paths=path, max_count=1), None)
            if commit is not None:
                dates[file] = authored_date(commit)
    except LlmopsError as error:
        return {}, error.message
    return dates, None
