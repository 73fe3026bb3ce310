"""`llmops history` and `llmops rollback` on real repositories: multi-file commits, merges, renames,
conflicting later edits, and every refusal the issue names."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from tests.helpers.estate import copy_bundled_estate, run_cli, write_files
from tests.helpers.git_repo import AUTHOR, commit_all, init_repository, root_of

DEV_ENDPOINT = "environments/dev/serving/example-model.yaml"
PROD_ENDPOINT = "environments/prod/serving/example-model.yaml"
MODEL = "environments/_shared/catalog/example-base-model.yaml"
BOB = git.Actor("Bob Builder", "bob@example.com")


def edit(repo: git.Repo, relative: str, old: str, new: str) -> None:
    path = root_of(repo) / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {relative}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def add_model_version(repo: git.Repo, version: str) -> None:
    """A second version of the shared model, approved in dev by admin (as `llmops approve` writes
    it)."""
    text = (
        (root_of(repo) / MODEL)
        .read_text(encoding="utf-8")
        .replace('"version": "1.0"', f'"version": "{version}"')
    )
    text = text.replace("/1.0/", f"/{version}/")
    write_files(
        root_of(repo), {f"environments/_shared/catalog/example-base-model-{version}.yaml": text}
    )
    assert (
        run_cli(
            "approve",
            f"example-base-model@{version}",
            "--env",
            "dev",
            "--by",
            "admin",
            "--role",
            "admin",
            str(root_of(repo)),
        ).exit_code
        == 0
    )


def test_history_lists_endpoint_and_dependency_changes_newest_first(repo: git.Repo) -> None:
    edit(repo, DEV_ENDPOINT, "maxReplicas: 3", "maxReplicas: 5")
    edit(repo, PROD_ENDPOINT, "maxReplicas: 6", "maxReplicas: 7")  # same commit, other environment
    commit_all(repo, "More replicas", BOB)
    add_model_version(repo, "1.1")
    edit(repo, DEV_ENDPOINT, "example-base-model-1.0", "example-base-model-1.1")
    edit(
        repo, DEV_ENDPOINT, "model_ref: example-base-model-1.0", "model_ref: example-base-model-1.1"
    )
    commit_all(repo, "Serve 1.1 in dev")
    edit(repo, "environments/stg/serving/example-model.yaml", "maxReplicas: 3", "maxReplicas: 4")
    commit_all(repo, "stg only")  # does not touch dev: not in dev's history

    result = run_cli(
        "history", "example-model", "--env", "dev", str(root_of(repo)), "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    commits = json.loads(result.stdout)["commits"]
    assert [c["subject"] for c in commits] == [
        "Serve 1.1 in dev",
        "More replicas",
        "the bundled estate",
    ]
    assert "model example-base-model@1.0 -> example-base-model@1.1" in commits[0]["changes"]
    assert "approvals of example-base-model@1.1: admin" in commits[0]["changes"]
    assert commits[1]["changes"] == ["maxReplicas 3 -> 5"]
    assert commits[1]["author"] == "Bob Builder"
    assert commits[2]["changes"] == ["endpoint added (model example-base-model@1.0)"]

    text = run_cli("history", "example-model", "--env", "dev", str(root_of(repo)), "-n", "1").stdout
    assert text.splitlines()[0].endswith("Serve 1.1 in dev")
    assert "    model example-base-model@1.0 -> example-base-model@1.1" in text
    assert "More replicas" not in text


def test_history_sees_a_change_to_the_served_model_manifest(repo: git.Repo) -> None:
    edit(repo, MODEL, "s3://", "gs://")
    commit_all(repo, "Move the weights")
    result = run_cli("history", "example-model", "--env", "dev", str(root_of(repo)), "-n", "1")
    assert "Move the weights" in result.stdout
    assert "model example-base-model@1.0 manifest: storageUri" in result.stdout


def test_history_of_an_unknown_endpoint_is_a_clear_error(repo: git.Repo) -> None:
    result = run_cli("history", "nope", "--env", "dev", str(root_of(repo)))
    assert result.exit_code == 2
    assert "no endpoint `nope` in dev" in result.stderr and "example-model" in result.stderr


def test_rollback_undoes_only_the_endpoint_of_a_multi_file_commit(repo: git.Repo) -> None:
    edit(repo, DEV_ENDPOINT, "maxReplicas: 3", "maxReplicas: 5")
    edit(repo, PROD_ENDPOINT, "maxReplicas: 6", "maxReplicas: 7")
    bad = commit_all(repo, "More replicas everywhere", BOB)
    before = repo.head.commit.hexsha

    result = run_cli("rollback", "example-model", "--env", "dev", str(root_of(repo)))
    assert result.exit_code == 0, result.stderr
    head = repo.head.commit
    assert head.parents[0].hexsha == before  # a new commit on top: history is not rewritten
    assert repo.active_branch.name == "main"
    assert "maxReplicas: 3" in (root_of(repo) / DEV_ENDPOINT).read_text()
    assert "maxReplicas: 7" in (root_of(repo) / PROD_ENDPOINT).read_text()  # the other change stays
    assert sorted(head.stats.files) == [DEV_ENDPOINT]
    message = str(head.message)
    assert message.startswith("Roll back ServingEndpoint example-model in dev to ")
    assert (
        f"Reverts: {bad}" in message
        and f"Rollback-Target: {repo.commit(bad).parents[0].hexsha}" in message
    )
    assert not repo.is_dirty(untracked_files=True)  # the checkout and the index show the new commit
    assert head.hexsha[:12] in result.stdout
    assert "spec.predictor.maxReplicas: 5 -> 3" in result.stdout  # the rendered diff


def test_dry_run_shows_the_diff_and_commits_nothing(repo: git.Repo) -> None:
    edit(repo, DEV_ENDPOINT, "maxReplicas: 3", "maxReplicas: 5")
    commit_all(repo, "More replicas")
    head = repo.head.commit.hexsha
    result = run_cli("rollback", "example-model", "--env", "dev", str(root_of(repo)), "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert (
        "dry run: nothing committed" in result.stdout
        and "spec.predictor.maxReplicas: 5 -> 3" in result.stdout
    )
    assert repo.head.commit.hexsha == head and not repo.is_dirty(untracked_files=True)


def test_rollback_steps_and_to(repo: git.Repo) -> None:
    first = repo.head.commit.hexsha
    edit(repo, DEV_ENDPOINT, "maxReplicas: 3", "maxReplicas: 5")
    commit_all(repo, "five")
    edit(repo, DEV_ENDPOINT, "max_input_tokens: 4096", "max_input_tokens: 2048")
    commit_all(repo, "shorter prompts")
    result = run_cli(
        "rollback", "example-model", "--env", "dev", str(root_of(repo)), "--steps", "2"
    )
    assert result.exit_code == 0, result.stderr
    assert (root_of(repo) / DEV_ENDPOINT).read_text() == repo.commit(first).tree[
        DEV_ENDPOINT
    ].data_stream.read().decode()
    assert str(repo.head.commit.message).count("Reverts: ") == 2

    edit(repo, DEV_ENDPOINT, "maxReplicas: 3", "maxReplicas: 9")
    commit_all(repo, "nine")
    assert (
        run_cli(
            "rollback", "example-model", "--env", "dev", str(root_of(repo)), "--to", first
        ).exit_code
        == 0
    )
    assert "maxReplicas: 3" in (root_of(repo) / DEV_ENDPOINT).read_text()

    too_far = run_cli(
        "rollback", "example-model", "--env", "dev", str(root_of(repo)), "--steps", "50"
    )
    assert too_far.exit_code == 2 and "--steps 50 goes back further" in too_far.stderr


def test_rollback_follows_a_renamed_file_and_keeps_other_documents(repo: git.Repo) -> None:
    root = root_of(repo)
    old = root / DEV_ENDPOINT
    neighbour = (
        "apiVersion: llmops.io/v1\nkind: PromptTemplate\nmetadata:\n  name: greeting  # keep me\n"
        "spec:\n  template: Hello\n"
    )
    combined = root / "environments/dev/serving/all.yaml"
    combined.write_text(neighbour + "---\n" + old.read_text(), encoding="utf-8")
    old.unlink()
    commit_all(repo, "Move the endpoint into a shared file")
    edit(repo, "environments/dev/serving/all.yaml", "maxReplicas: 3", "maxReplicas: 5")
    commit_all(repo, "five")
    result = run_cli("rollback", "example-model", "--env", "dev", str(root))
    assert result.exit_code == 0, result.stderr
    text = combined.read_text()
    assert text.startswith(neighbour + "---\n")  # the neighbour's bytes, comment included
    assert "maxReplicas: 3" in text and not old.exists()


def test_rollback_through_a_merge_commit(repo: git.Repo) -> None:
    main = repo.active_branch
    feature = repo.create_head("feature")
    feature.checkout()
    edit(repo, DEV_ENDPOINT, "maxReplicas: 3", "maxReplicas: 5")
    commit_all(repo, "feature: five replicas")
    main.checkout()
    edit(repo, PROD_ENDPOINT, "maxReplicas: 6", "maxReplicas: 7")
    commit_all(repo, "main: prod change")
    repo.git.merge("feature", no_ff=True, m="Merge feature")
    assert len(repo.head.commit.parents) == 2

    history = json.loads(
        run_cli(
            "history", "example-model", "--env", "dev", str(root_of(repo)), "--format", "json"
        ).stdout
    )["commits"]
    # not the merge
    assert [c["subject"] for c in history] == ["feature: five replicas", "the bundled estate"]
    result = run_cli("rollback", "example-model", "--env", "dev", str(root_of(repo)))
    assert result.exit_code == 0, result.stderr
    assert "maxReplicas: 3" in (root_of(repo) / DEV_ENDPOINT).read_text()
    assert "maxReplicas: 7" in (root_of(repo) / PROD_ENDPOINT).read_text()


def test_an_endpoint_that_did_not_exist_is_removed_and_a_deleted_one_restored(
    repo: git.Repo,
) -> None:
    root = root_of(repo)
    extra = "environments/dev/serving/extra.yaml"
    text = (
        (root / DEV_ENDPOINT)
        .read_text()
        .replace("name: example-model", "name: extra")
        .replace("/serve/example-model", "/serve/extra")
    )
    write_files(root, {extra: text})
    added = commit_all(repo, "Add extra")
    assert run_cli("rollback", "extra", "--env", "dev", str(root)).exit_code == 0
    assert not (root / extra).exists()
    assert "Removes the endpoint" in str(repo.head.commit.message)

    # A second rollback goes further back, not forward again: before its first version there is
    # nothing.
    again = run_cli("rollback", "extra", "--env", "dev", str(root))
    assert (
        again.exit_code == 2
        and "has no earlier version" in again.stderr
        and "--to REV" in again.stderr
    )
    # named: it comes back
    result = run_cli("rollback", "extra", "--env", "dev", str(root), "--to", added)
    assert result.exit_code == 0, result.stderr
    assert (root / extra).read_text() == text

    (root / extra).unlink()
    commit_all(repo, "Delete extra by hand")
    # a deletion is undone
    assert run_cli("rollback", "extra", "--env", "dev", str(root)).exit_code == 0
    assert (root / extra).read_text() == text


def test_a_conflicting_later_edit_refuses_with_diagnostics_and_writes_nothing(
    repo: git.Repo,
) -> None:
    root = root_of(repo)
    add_model_version(repo, "1.1")
    edit(repo, DEV_ENDPOINT, "modelId: example-base-model-1.0", "modelId: example-base-model@1.1")
    edit(
        repo, DEV_ENDPOINT, "model_ref: example-base-model-1.0", "model_ref: example-base-model@1.1"
    )
    commit_all(repo, "Serve 1.1")
    # Later, 1.0 is retired everywhere but dev's endpoint history still points at it.
    for env in ("stg", "prod"):
        edit(
            repo,
            f"environments/{env}/serving/example-model.yaml",
            "example-base-model@1.0",
            "example-base-model@1.1",
        )
        edit(
            repo,
            f"environments/{env}/serving/example-model.yaml",
            "example-base-model@1.0",
            "example-base-model@1.1",
        )
    (root / MODEL).unlink()
    commit_all(repo, "Retire 1.0")
    head, files = (
        repo.head.commit.hexsha,
        sorted(p.name for p in (root / "environments/dev").rglob("*")),
    )
    result = run_cli("rollback", "example-model", "--env", "dev", str(root))
    assert result.exit_code == 1
    assert "would leave dev with" in result.stderr and "nothing was changed" in result.stderr
    assert "[R001]" in result.stderr and "example-base-model-1.0" in result.stderr
    assert repo.head.commit.hexsha == head and not repo.is_dirty(untracked_files=True)
    assert sorted(p.name for p in (root / "environments/dev").rglob("*")) == files


@pytest.mark.parametrize("state", ["modified", "untracked", "staged"])
def test_refuses_a_dirty_working_tree(repo: git.Repo, state: str) -> None:
    root = root_of(repo)
    edit(repo, DEV_ENDPOINT, "maxReplicas: 3", "maxReplicas: 5")
    commit_all(repo, "five")
    if state == "untracked":
        write_files(root, {"environments/dev/notes.yaml": "# draft\n"})
    else:
        edit(repo, PROD_ENDPOINT, "maxReplicas: 6", "maxReplicas: 7")
        if state == "staged":
            repo.index.add([PROD_ENDPOINT])
    head = repo.head.commit.hexsha
    result = run_cli("rollback", "example-model", "--env", "dev", str(root))
    assert result.exit_code == 2
    assert "uncommitted changes" in result.stderr and "git stash" in result.stderr
    assert repo.head.commit.hexsha == head


def test_refuses_unborn_and_detached_head_and_unknown_endpoint(
    tmp_path: Path, repo: git.Repo
) -> None:
    unborn = copy_bundled_estate(tmp_path / "unborn")
    init_repository(unborn)
    result = run_cli("rollback", "example-model", "--env", "dev", str(unborn))
    assert result.exit_code == 2 and "no commits yet" in result.stderr

    unknown = run_cli("rollback", "nope", "--env", "dev", str(root_of(repo)))
    assert unknown.exit_code == 2 and "no endpoint `nope` in dev" in unknown.stderr

    repo.git.checkout(repo.head.commit.hexsha)  # detach
    detached = run_cli("rollback", "example-model", "--env", "dev", str(root_of(repo)))
    assert detached.exit_code == 2 and "HEAD is detached" in detached.stderr


def test_refuses_while_a_merge_or_cherry_pick_waits_for_the_user(repo: git.Repo) -> None:
    """With a merge in progress (its tree clean), a rollback committed in the middle of it, and
    the user's next `git commit` finished the merge on top: refused, saying how to get out."""
    root = root_of(repo)
    edit(repo, DEV_ENDPOINT, "maxReplicas: 3", "maxReplicas: 4")
    commit_all(repo, "dev: four")  # something to roll back
    head = repo.head.commit.hexsha
    repo.git.branch("side", "HEAD~1")
    repo.git.checkout("side")
    edit(repo, PROD_ENDPOINT, "maxReplicas: 6", "maxReplicas: 8")
    commit_all(repo, "side: eight")
    repo.git.checkout("main")
    repo.git.merge("-s", "ours", "--no-commit", "side")
    assert (Path(repo.git_dir) / "MERGE_HEAD").exists()
    result = run_cli("rollback", "example-model", "--env", "dev", str(root))
    assert result.exit_code == 2, result.stderr
    assert "a merge is in progress" in result.stderr and "git merge --abort" in result.stderr
    assert repo.head.commit.hexsha == head
    repo.git.merge("--abort")
    (Path(repo.git_dir) / "CHERRY_PICK_HEAD").write_text(head + "\n")
    picking = run_cli("rollback", "example-model", "--env", "dev", str(root))
    assert picking.exit_code == 2 and "a cherry-pick is in progress" in picking.stderr


def test_rolling_back_a_shared_endpoint_overrides_it_in_one_environment_only(
    tmp_path: Path,
) -> None:
    root = copy_bundled_estate(tmp_path / "repo")
    repo = init_repository(root)
    (root / "environments/_shared/serving").mkdir(parents=True)
    shared = root / "environments/_shared/serving/example-model.yaml"
    shared.write_text(
        (root / DEV_ENDPOINT).read_text().replace("  environment: dev\n", ""), encoding="utf-8"
    )
    (root / DEV_ENDPOINT).unlink()
    commit_all(repo, "dev uses the shared endpoint", AUTHOR)
    edit(
        repo, "environments/_shared/serving/example-model.yaml", "maxReplicas: 3", "maxReplicas: 5"
    )
    commit_all(repo, "shared: five")
    result = run_cli("rollback", "example-model", "--env", "dev", str(root))
    assert result.exit_code == 0, result.stderr
    assert "maxReplicas: 5" in shared.read_text()  # other environments keep the shared change
    override = root / "environments/dev/serving/example-model.yaml"
    assert "maxReplicas: 3" in override.read_text()
    assert "overriding environments/_shared/serving/example-model.yaml in dev only" in result.stdout


@pytest.mark.parametrize(
    ("broken", "said"),
    [
        (b"garbage: [\n", "Y001"),
        (b"# caf\xe9\n", "Y008"),
        (b"  extra: !!python/object:os.system x\n", "Y004"),
    ],
)
def test_a_version_that_cannot_be_read_is_no_removal(
    repo: git.Repo, broken: bytes, said: str
) -> None:
    """A commit that broke the endpoint's file read as "endpoint removed", and the commit that
    repaired it (and changed maxReplicas) as "endpoint added", hiding the change."""
    root = root_of(repo)
    path = root / DEV_ENDPOINT
    good = path.read_bytes()
    path.write_bytes(good + broken)
    commit_all(repo, "break the file")
    path.write_bytes(good.replace(b"maxReplicas: 3", b"maxReplicas: 6"))
    commit_all(repo, "repair it, and scale")
    result = run_cli("history", "example-model", str(root), "--env", "dev", "--format", "json")
    assert result.exit_code == 0, result.stderr
    newest, broke = json.loads(result.stdout)["commits"][:2]
    assert newest["changes"] == ["maxReplicas 3 -> 6"]
    (line,) = broke["changes"]
    assert line.startswith(f"cannot be read here: {DEV_ENDPOINT}: {said}"), line


def test_rollback_never_restores_a_version_that_cannot_be_read(repo: git.Repo) -> None:
    """The change after a broken revision was rolled back to the broken one, whose endpoint could
    not be read: the rollback deleted the endpoint, and committed that."""
    root = root_of(repo)
    path = root / DEV_ENDPOINT
    good = path.read_bytes()
    path.write_bytes(good + b"garbage: [\n")
    broken = commit_all(repo, "break the file")
    path.write_bytes(good.replace(b"maxReplicas: 3", b"maxReplicas: 5"))
    commit_all(repo, "repair it, and scale")
    rolled = run_cli("rollback", "example-model", str(root), "--env", "dev")
    assert rolled.exit_code == 0, rolled.stderr
    assert path.read_bytes() == good  # the version the change was made from
    refused = run_cli("rollback", "example-model", str(root), "--env", "dev", "--to", broken)
    assert refused.exit_code == 2
    assert "cannot be read at" in refused.stderr and "would delete the endpoint" in refused.stderr


@pytest.mark.parametrize("target", ["nothere.yaml", "/etc/hostname", "../../../../outside.yaml"])
def test_a_version_behind_a_link_that_leads_nowhere_is_no_removal(
    repo: git.Repo, target: str
) -> None:
    import os

    root = root_of(repo)
    path = root / DEV_ENDPOINT
    good = path.read_bytes()
    path.unlink()
    os.symlink(target, path)
    commit_all(repo, "the endpoint behind a link that leads nowhere")
    path.unlink()
    path.write_bytes(good.replace(b"maxReplicas: 3", b"maxReplicas: 6"))
    commit_all(repo, "the file again, and scale")
    result = run_cli("history", "example-model", str(root), "--env", "dev", "--format", "json")
    newest, broke = json.loads(result.stdout)["commits"][:2]
    assert newest["changes"] == ["maxReplicas 3 -> 6"]
    (line,) = broke["changes"]
    assert line.startswith(f"cannot be read here: {DEV_ENDPOINT}: Y015"), line
