"""`llmops history`: the commits that changed an endpoint or what it depends on, newest first."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from compiler.errors import LlmopsError
from compiler.load.estate import list_environments
from llmops.cli import exit_codes
from llmops.cli.repo import find_estate_root
from llmops.gitops.commits import subject

if TYPE_CHECKING:
    from llmops.gitops.history import EndpointChange


def _entry(change: EndpointChange) -> dict[str, Any]:
    commit = change.commit
    return {"revision": commit.hexsha, "author": commit.author.name, "email": commit.author.email,
            "date": commit.authored_datetime.isoformat(), "subject": subject(commit),
            "changes": list(change.lines), "manifestChanged": change.manifest_changed}


def _text(entries: list[dict[str, Any]]) -> str:
    lines = []
    for entry in entries:
        date = entry["date"][:16].replace("T", " ")
        lines.append(f"{entry['revision'][:12]}  {date}  {entry['author']}  {entry['subject']}")
        lines.extend(f"    {line}" for line in entry["changes"])
    return "\n".join(lines) + "\n"


def history(repo: str | None, endpoint: str, env: str, output_format: str, limit: int | None) -> int:
    from llmops.gitops.commits import current_commit
    from llmops.gitops.history import EndpointHistory, unknown_endpoint
    from llmops.gitops.snapshots import EstateSnapshots
    from llmops.gitops.tree import GitTree, open_repository

    root = find_estate_root(repo)
    git_repo, prefix = open_repository(root)
    head = current_commit(git_repo)
    if env not in list_environments(GitTree(head, prefix)):
        raise LlmopsError(f"environment `{env}` does not exist at HEAD ({head.hexsha[:12]})")
    snapshots = EstateSnapshots(git_repo, prefix)
    entries = []
    for change in EndpointHistory(snapshots, env, endpoint).changes(head):
        entries.append(_entry(change))
        if limit is not None and len(entries) >= limit:
            break
    if not entries:
        raise unknown_endpoint(snapshots, head, env, endpoint)
    if output_format == "json":
        sys.stdout.write(json.dumps({"endpoint": endpoint, "environment": env, "commits": entries}, indent=2) + "\n")
    else:
        sys.stdout.write(_text(entries))
    return exit_codes.OK
