"""Rolling back twice goes two versions back (the original platform's "go back to the previous
version"), never forward to the version the first rollback undid; the rule reads the `Reverts`
trailers rollbacks write."""

from __future__ import annotations

import json

import git

from tests.helpers.estate import run_cli
from tests.helpers.git_repo import assert_git_agrees, commit_all, git_cli, root_of

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


# --- across a merge commit: a merged branch's change leaves with the merge
# ------------------------------------------------------------------------


def git_text(repo: git.Repo, *arguments: str) -> str:
    return git_cli(root_of(repo), *arguments).stdout


def edit_and_commit_with_git(repo: git.Repo, old: str, new: str, message: str) -> str:
    path = root_of(repo) / DEV_ENDPOINT
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    git_text(repo, "commit", "-q", "-a", "-m", message)
    return git_text(repo, "rev-parse", "HEAD").strip()


def concurrency(repo: git.Repo) -> int:
    text = (root_of(repo) / DEV_ENDPOINT).read_text(encoding="utf-8")
    return int(text.split("max_concurrent_requests:")[1].split()[0])


def merged_history(repo: git.Repo) -> tuple[str, str, str]:
    """main: C (maxReplicas 3 -> 4); branch feat: B (concurrency 256 -> 16); M merges feat into
    main with the real git binary."""
    git_text(repo, "switch", "-q", "-c", "feat")
    side = edit_and_commit_with_git(
        repo, "max_concurrent_requests: 256", "max_concurrent_requests: 16", "B: concurrency 16"
    )
    git_text(repo, "switch", "-q", "main")
    main = edit_and_commit_with_git(repo, "maxReplicas: 3", "maxReplicas: 4", "C: maxReplicas 4")
    git_text(repo, "merge", "-q", "--no-ff", "feat", "-m", "M: merge feat")
    merge = git_text(repo, "rev-parse", "HEAD").strip()
    assert (replicas(repo), concurrency(repo)) == (4, 16)
    return side, main, merge


def test_rollbacks_after_a_merge_undo_what_their_messages_say(repo: git.Repo) -> None:
    side, main, merge = merged_history(repo)

    rollback(repo)  # the merge, and with it the branch's change
    assert (replicas(repo), concurrency(repo)) == (4, 256)
    message = git_text(repo, "log", "-1", "--format=%B")
    assert f"Reverts: {merge}" in message and f"Reverts: {side}" in message
    assert f"Rollback-Target: {main}" in message

    rollback(repo)  # C, not the branch's B again
    assert (replicas(repo), concurrency(repo)) == (3, 256)
    message = git_text(repo, "log", "-1", "--format=%B")
    assert f"- {main[:12]} C: maxReplicas 4 (maxReplicas 3 -> 4)" in message
    assert message.count("Reverts: ") == 1 and f"Reverts: {main}" in message
    assert "B: concurrency 16" not in message

    history = json.loads(
        run_cli(
            "history", "example-model", "--env", "dev", str(root_of(repo)), "--format", "json"
        ).stdout
    )["commits"]
    undone_by = {entry["revision"]: entry["undoneBy"] for entry in history}
    first, second = history[1]["revision"], history[0]["revision"]
    assert undone_by[merge] == first and undone_by[side] == first and undone_by[main] == second


def test_a_rollback_written_before_side_changes_were_named_still_counts_them(
    repo: git.Repo,
) -> None:
    """A rollback of the merge whose trailers name only the merge (as earlier llmops wrote them):
    restoring its target undid the branch's change as well, and the next rollback knows it."""
    side, main, merge = merged_history(repo)
    path = root_of(repo) / DEV_ENDPOINT
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "max_concurrent_requests: 16", "max_concurrent_requests: 256"
        ),
        encoding="utf-8",
    )
    git_text(
        repo,
        "commit",
        "-q",
        "-a",
        "-m",
        f"Roll back ServingEndpoint example-model in dev to {main[:12]}\n\n"
        f"Rollback-Target: {main}\nReverts: {merge}",
    )
    by_hand = git_text(repo, "rev-parse", "HEAD").strip()
    history = json.loads(
        run_cli(
            "history", "example-model", "--env", "dev", str(root_of(repo)), "--format", "json"
        ).stdout
    )["commits"]
    assert {entry["revision"]: entry["undoneBy"] for entry in history}[side] == by_hand
    rollback(repo)
    assert (replicas(repo), concurrency(repo)) == (3, 256)
    assert f"Reverts: {main}" in git_text(repo, "log", "-1", "--format=%B")


def test_nothing_left_to_roll_back_is_one_exit_code(repo: git.Repo) -> None:
    set_replicas(repo, 3, 4)
    set_replicas(repo, 4, 3)  # undone by hand: the last two changes add up to nothing
    head = repo.head.commit.hexsha
    result = run_cli(
        "rollback", "example-model", "--env", "dev", str(root_of(repo)), "--steps", "2"
    )
    assert result.exit_code == 2 and "nothing to roll back" in result.stderr, result.stdout
    assert repo.head.commit.hexsha == head
