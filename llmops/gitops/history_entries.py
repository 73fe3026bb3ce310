"""One commit of an endpoint's history as plain data: what `llmops history -o json` prints and the
console's endpoint page shows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmops.gitops.commits import author_email, author_name, authored_date, subject

if TYPE_CHECKING:
    from llmops.gitops.rollback_marks import MarkedChange


def history_entry(marked: MarkedChange) -> dict[str, Any]:
    change = marked.change
    commit = change.commit
    rollback = (
        None
        if marked.rollback is None
        else {"target": marked.rollback.target, "reverts": list(marked.rollback.reverts)}
    )
    return {
        "revision": commit.hexsha,
        "author": author_name(commit),
        "email": author_email(commit),
        "date": authored_date(commit),
        "subject": subject(commit),
        "changes": list(change.lines),
        "manifestChanged": change.manifest_changed,
        "rollback": rollback,
        "undoneBy": marked.undone_by,
    }
