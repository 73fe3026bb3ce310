"""Git history for the approval-audit rule fixtures (G001-G004): who committed the model, who the
approval."""

from __future__ import annotations

from pathlib import Path

import git

from tests.helpers.git_repo import commit_paths, init_repository

ARGS = ("--audit",)
CAROL = git.Actor("Carol Owner", "carol@example.com")  # owns the model
ALICE = git.Actor("Alice Approver", "alice@example.com")  # the approver the Approval names
MALLORY = git.Actor("Mallory", "mallory@example.com")

APPROVAL = "environments/prod/approvals/support-model-1-0-alice.yaml"


def commit_estate(
    root: Path,
    model_author: git.Actor = CAROL,
    approval_author: git.Actor = ALICE,
    signed: bool = False,
    edit_after: bool = False,
) -> None:
    """Commit everything but the approval as `model_author`, then the approval as
    `approval_author`."""
    repo = init_repository(root)
    files = sorted(str(path.relative_to(root)) for path in root.rglob("*.yaml"))
    commit_paths(
        repo,
        [path for path in files if path != APPROVAL],
        "Add the model and its endpoint",
        model_author,
    )
    commit_paths(repo, [APPROVAL], "Approve support-model 1.0", approval_author, signed=signed)
    if edit_after:
        path = root / APPROVAL
        path.write_text(
            path.read_text(encoding="utf-8") + "  notes: changed after the commit\n",
            encoding="utf-8",
        )
