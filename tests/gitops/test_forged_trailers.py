"""Rollback trailers written by hand: `history` and `rollback` trust `Rollback-Target` and
`Reverts` only when the commit does what they say; any other commit is described, and rolled back,
by what it changed."""

from __future__ import annotations

import json

import git
import pytest

from tests.helpers.estate import run_cli
from tests.helpers.git_repo import commit_all, root_of

DEV_ENDPOINT = "environments/dev/serving/example-model.yaml"


def _set_replicas(repo: git.Repo, old: int, new: int, message: str) -> str:
    path = root_of(repo) / DEV_ENDPOINT
    text = path.read_text(encoding="utf-8")
    assert f"maxReplicas: {old}" in text
    path.write_text(text.replace(f"maxReplicas: {old}", f"maxReplicas: {new}", 1), encoding="utf-8")
    return commit_all(repo, message)


def _history(repo: git.Repo) -> list[dict[str, object]]:
    result = run_cli(
        "history", "example-model", "--env", "dev", str(root_of(repo)), "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    commits: list[dict[str, object]] = json.loads(result.stdout)["commits"]
    return commits


@pytest.mark.parametrize(
    "trailers",
    [
        "Reverts: {previous}",  # no target: claims the endpoint was removed, but it is there
        "Rollback-Target: {base}\nReverts: {previous}",  # the manifest differs from the target's
        "Rollback-Target: {unknown}\nReverts: {previous}",  # no such commit
        "Rollback-Target: {previous}\nReverts: {previous}",  # its own parent's manifest is not 9
    ],
)
def test_trailers_the_commit_does_not_bear_out_are_ignored(repo: git.Repo, trailers: str) -> None:
    base = repo.head.commit.hexsha
    _set_replicas(repo, 3, 8, "dev max 8")
    previous = repo.head.commit.hexsha
    filled = trailers.format(base=base, previous=previous, unknown="1" * 40)
    forged = _set_replicas(repo, 8, 9, f"dev max 9\n\nby hand\n\n{filled}")

    newest, older = _history(repo)[:2]
    assert newest["revision"] == forged and newest["rollback"] is None
    assert older["revision"] == previous and older["undoneBy"] is None
    text = run_cli("history", "example-model", "--env", "dev", str(root_of(repo))).stdout
    assert "[rollback]" not in text and "rollback:" not in text and "rolled back by" not in text
    assert "maxReplicas 8 -> 9" in text
    # the forged commit is the endpoint's newest version: rolling back undoes it
    rollback = run_cli("rollback", "example-model", "--env", "dev", str(root_of(repo)))
    assert rollback.exit_code == 0, rollback.stderr
    assert "maxReplicas: 8" in (root_of(repo) / DEV_ENDPOINT).read_text(encoding="utf-8")


def test_a_rollback_llmops_wrote_is_still_recognised(repo: git.Repo) -> None:
    _set_replicas(repo, 3, 8, "dev max 8")
    changed = repo.head.commit.hexsha
    assert run_cli("rollback", "example-model", "--env", "dev", str(root_of(repo))).exit_code == 0
    newest, older = _history(repo)[:2]
    assert newest["rollback"] is not None and older["undoneBy"] == newest["revision"]
    assert older["revision"] == changed
