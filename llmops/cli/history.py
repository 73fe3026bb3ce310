"""`llmops history`: the commits that changed an endpoint or what it depends on, newest first."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from compiler.printable import escape_controls
from llmops.cli import exit_codes, options
from llmops.estate import find_estate_root
from llmops.gitops.history_entries import history_entry


def _text(entries: list[dict[str, Any]]) -> str:
    """One line per commit, then what changed; rollbacks and what they undid are marked. Every text
    from a commit or a manifest is shown with its control characters escaped."""
    lines = []
    for entry in entries:
        date = entry["date"] if entry["date"].startswith("@") else entry["date"][:16]
        date = date.replace("T", " ")
        mark = "[rollback] " if entry["rollback"] is not None else ""
        lines.append(
            escape_controls(
                f"{entry['revision'][:12]}  {date}  {entry['author']}  {mark}{entry['subject']}"
            )
        )
        lines.extend(f"    {escape_controls(line)}" for line in entry["changes"])
        if entry["rollback"] is not None:
            undone = ", ".join(sha[:12] for sha in entry["rollback"]["reverts"])
            target = entry["rollback"]["target"]
            lines.append(
                f"    rollback: undoes {undone}; "
                + (
                    f"restores the endpoint as at {target[:12]}"
                    if target
                    else "removes the endpoint"
                )
            )
        if entry["undoneBy"] is not None:
            lines.append(f"    rolled back by {entry['undoneBy'][:12]}")
    return "\n".join(lines) + "\n"


def history(
    *, endpoint: str, env: str, repo: str | None, output_format: str, max_count: int | None
) -> int:
    from llmops.gitops.commits import current_commit
    from llmops.gitops.history import EndpointHistory, unknown_endpoint
    from llmops.gitops.rollback_marks import marked_changes
    from llmops.gitops.snapshots import EstateSnapshots
    from llmops.gitops.tree import open_repository, require_environment

    root = find_estate_root(repo)
    git_repo, prefix = open_repository(root)
    head = current_commit(git_repo)
    require_environment(head, prefix, env)
    snapshots = EstateSnapshots(git_repo, prefix)
    entries = []
    endpoint_history = EndpointHistory(snapshots, env, endpoint)
    for marked in marked_changes(endpoint_history.changes(head), endpoint_history):
        entries.append(history_entry(marked))
        if max_count is not None and len(entries) >= max_count:
            break
    if not entries:
        raise unknown_endpoint(snapshots, head, env, endpoint)
    if output_format == "json":
        sys.stdout.write(
            json.dumps({"endpoint": endpoint, "environment": env, "commits": entries}, indent=2)
            + "\n"
        )
    else:
        sys.stdout.write(_text(entries))
    return exit_codes.OK


command = click.Command(
    "history",
    callback=history,
    help="the commits that changed an endpoint or what it depends on\n\nNewest first: its own "
    "manifest, the model version it serves and that model's approvals, the adapters it serves, "
    "the training job and dataset that made them, and its prompt experiments with their "
    "templates.\n\n" + options.REPO_HELP,
    params=[
        options.endpoint_argument(),
        options.env_option("the environment", required=True),
        options.repo_argument(),
        options.format_option(("text", "json")),
        click.Option(
            ["-n", "--max-count"],
            type=options.WholeNumber(),
            metavar="N",
            help="show at most N commits",
        ),
    ],
)
