"""Rolling back twice goes two versions back (the seeds' "go back to the previous version"), never
forward to the version the first rollback undid; the rule reads the `Reverts` trailers rollbacks
write."""

from __future__ import annotations

import json

import git

from tests.helpers.estate import run_cli
from tests.helpers.git_repo import assert_git_agrees, commit_all, root_of

DEV_ENDPOINT = "environments/dev/serving/example-model.yaml"


def set_replicas(repo: git.Repo, old: int, new: int) -> str:
    path = root_of(repo) / DEV_ENDPOINT
    text = path.read_text(encoding="utf-8")
    assert f"maxReplicas: {old}\n" in text
    path.write_text(
        text.replace(f"maxReplicas: {old}\n", f"maxReplicas: {new}\n"), encoding="utf-8"
    )
    return commit_all(repo, f"replicas {new}")


def replicas(repo: git.Repo) -> int:
    for line in (root_of(repo) / DEV_ENDPOINT).read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("maxReplicas:"):
            return int(line.split(":")[1])
    raise AssertionError("no maxReplicas")


def rollback(repo: git.Repo, *arguments: str) -> str:
    result = run_cli("rollback", "example-model", "--env", "dev", str(root_of(repo)), *arguments)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert_git_agrees(root_of(repo))
    return repo.head.commit.hexsha


def test_each_rollback_goes_one_version_further_back(repo: git.Repo) -> None:
    for old, new in ((3, 4), (4, 5), (5, 6)):
        set_replicas(repo, old, new)
    rollback(repo)
    assert replicas(repo) == 5
    rollback(repo)
    assert replicas(repo) == 4  # not 6 again
    rollback(repo)
    assert replicas(repo) == 3
    # Before the bundled estate's commit the endpoint did not exist, and dev's experiment needs it.
    head = repo.head.commit.hexsha
    removing = run_cli("rollback", "example-model", "--env", "dev", str(root_of(repo)))
    assert (
        removing.exit_code == 1 and "[R004]" in removing.stderr and repo.head.commit.hexsha == head
    )


def test_steps_after_a_rollback_count_the_versions_left(repo: git.Repo) -> None:
    for old, new in ((3, 4), (4, 5), (5, 6)):
        set_replicas(repo, old, new)
    rollback(repo)
    assert replicas(repo) == 5
    rollback(repo, "--steps", "2")
    assert replicas(repo) == 3
    too_far = run_cli(
        "rollback", "example-model", "--env", "dev", str(root_of(repo)), "--steps", "2"
    )
    assert (
        too_far.exit_code == 2
        and "has only 1 change(s) that are not rolled back yet" in too_far.stderr
    )


def test_a_change_after_a_rollback_is_the_next_to_go(repo: git.Repo) -> None:
    for old, new in ((3, 4), (4, 5)):
        set_replicas(repo, old, new)
    rollback(repo)  # 5 -> 4
    set_replicas(repo, 4, 7)
    rollback(repo)  # undoes 7: back to 4
    assert replicas(repo) == 4
    rollback(repo)  # then 4 itself: back to 3
    assert replicas(repo) == 3


def test_a_rollback_undone_with_to_counts_as_undone(repo: git.Repo) -> None:
    four = set_replicas(repo, 3, 4)
    five = set_replicas(repo, 4, 5)
    rollback(repo)  # 5 -> 4
    rollback(repo, "--to", five)  # forward again, by name: the first rollback is undone
    assert replicas(repo) == 5
    rollback(repo)  # the previous version of 5 is 4
    assert replicas(repo) == 4
    assert repo.head.commit.message.count("Reverts: ") == 1 and f"Reverts: {five}" in str(
        repo.head.commit.message
    )
    rollback(repo)
    assert replicas(repo) == 3
    assert f"Reverts: {four}" in str(repo.head.commit.message)


def test_history_marks_rollbacks_and_what_they_undid(repo: git.Repo) -> None:
    five = set_replicas(repo, 3, 5)
    first = rollback(repo)
    result = run_cli(
        "history", "example-model", "--env", "dev", str(root_of(repo)), "--format", "json"
    )
    commits = json.loads(result.stdout)["commits"]
    assert commits[0]["revision"] == first and commits[0]["rollback"]["reverts"] == [five]
    assert commits[0]["rollback"]["target"] == repo.commit(five).parents[0].hexsha
    assert (
        commits[1]["revision"] == five
        and commits[1]["undoneBy"] == first
        and commits[1]["rollback"] is None
    )
    assert commits[2]["rollback"] is None and commits[2]["undoneBy"] is None

    text = run_cli(
        "history", "example-model", "--env", "dev", str(root_of(repo))
    ).stdout.splitlines()
    assert "[rollback] Roll back ServingEndpoint example-model in dev" in text[0]
    assert (
        f"    rollback: undoes {five[:12]}; restores the endpoint as at "
        f"{repo.commit(five).parents[0].hexsha[:12]}" in text
    )
    assert f"    rolled back by {first[:12]}" in text
