"""`llmops promote` on real repositories: a branch with one commit, the checkout untouched."""

from __future__ import annotations

import git
import pytest
import yaml

from tests.helpers.estate import run_cli, validate, write_files
from tests.helpers.git_repo import commit_all, root_of

DEV_ENDPOINT = "environments/dev/serving/example-model.yaml"
STG_ENDPOINT = "environments/stg/serving/example-model.yaml"


def blob_text(repo: git.Repo, revision: str, path: str) -> str:
    return repo.commit(revision).tree[path].data_stream.read().decode()


def test_promotion_keeps_the_targets_capacity_and_leaves_the_checkout_alone(repo: git.Repo) -> None:
    root = root_of(repo)
    text = (
        (root / DEV_ENDPOINT)
        .read_text()
        .replace("max_output_tokens: 1024", "max_output_tokens: 512")
    )
    (root / DEV_ENDPOINT).write_text(text)
    commit_all(repo, "dev: shorter answers")
    head = repo.head.commit.hexsha

    result = run_cli("promote", "example-model", "--from", "dev", "--to", "stg", str(root))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "created branch promote/example-model-dev-to-stg" in result.stdout
    assert repo.head.commit.hexsha == head and repo.active_branch.name == "main"
    assert not repo.is_dirty(untracked_files=True)

    commit = repo.commit("promote/example-model-dev-to-stg")
    assert commit.parents[0].hexsha == head and list(commit.stats.files) == [STG_ENDPOINT]
    promoted = yaml.safe_load(blob_text(repo, commit.hexsha, STG_ENDPOINT))
    original = yaml.safe_load(blob_text(repo, head, STG_ENDPOINT))
    spec, deployment = promoted["spec"], promoted["spec"]["deploymentSpec"]
    assert deployment["runtime"]["max_output_tokens"] == 512  # promoted
    # stg's GPUs kept
    assert deployment["resources"] == original["spec"]["deploymentSpec"]["resources"]
    assert (spec["minReplicas"], spec["maxReplicas"], spec["useGpu"], spec["environment"]) == (
        original["spec"]["minReplicas"],
        original["spec"]["maxReplicas"],
        True,
        "stg",
    )
    assert spec["modelId"] == original["spec"]["modelId"]  # same model: stg's spelling is kept
    assert "Promoted-From: dev@" in str(commit.message)


def test_promotion_copies_a_missing_model_and_names_the_approvals_needed(repo: git.Repo) -> None:
    root = root_of(repo)
    model = (root / "environments/_shared/catalog/example-base-model.yaml").read_text()
    model = model.replace('"version": "1.0"', '"version": "2.0"').replace("/1.0/", "/2.0/")
    write_files(root, {"environments/dev/models/example-base-model-2.yaml": model})
    text = (
        (root / DEV_ENDPOINT)
        .read_text()
        .replace("example-base-model-1.0", "example-base-model@2.0")
    )
    (root / DEV_ENDPOINT).write_text(text)
    assert (
        run_cli(
            "approve",
            "example-base-model@2.0",
            "--env",
            "dev",
            "--by",
            "admin",
            "--role",
            "admin",
            str(root),
        ).exit_code
        == 0
    )
    commit_all(repo, "dev serves 2.0")

    skipping = run_cli("promote", "example-model", "--from", "dev", "--to", "prod", str(root))
    # prod requires stg to serve it first
    assert skipping.exit_code == 1 and "[P012]" in skipping.stderr
    assert "promote/example-model-dev-to-prod" not in [head.name for head in repo.heads]

    result = run_cli("promote", "example-model", "--from", "dev", "--to", "stg", str(root))
    assert result.exit_code == 0, result.stdout + result.stderr
    commit = repo.commit("promote/example-model-dev-to-stg")
    assert sorted(commit.stats.files) == [
        "environments/stg/models/example-base-model-2.yaml",
        "environments/stg/serving/example-model.yaml",
    ]
    assert "stg needs 1 more approval(s) of example-base-model@2.0" in result.stdout
    assert (
        "llmops approve example-base-model@2.0 --env stg --by <user-id> --role <admin | ml-lead>"
        in result.stdout
    )

    # On the branch, the approval is the only thing missing.
    repo.git.switch("promote/example-model-dev-to-stg")
    assert validate(root, "stg").error_count > 0
    assert (
        run_cli(
            "approve",
            "example-base-model@2.0",
            "--env",
            "stg",
            "--by",
            "carol",
            "--role",
            "admin",
            str(root),
        ).exit_code
        == 0
    )
    assert validate(root, "stg").error_count == 0


def test_promoting_twice_refuses_to_move_an_existing_branch(repo: git.Repo) -> None:
    root = root_of(repo)
    (root / DEV_ENDPOINT).write_text((root / DEV_ENDPOINT).read_text().replace("1024", "512"))
    commit_all(repo, "dev change")
    assert (
        run_cli("promote", "example-model", "--from", "dev", "--to", "stg", str(root)).exit_code
        == 0
    )
    again = run_cli("promote", "example-model", "--from", "dev", "--to", "stg", str(root))
    assert (
        again.exit_code == 2
        and "branch `promote/example-model-dev-to-stg` already exists" in again.stderr
    )


def test_nothing_to_promote_and_unknown_names(repo: git.Repo) -> None:
    root = root_of(repo)
    same = run_cli("promote", "example-model", "--from", "stg", "--to", "stg", str(root))
    assert same.exit_code == 2
    unknown = run_cli("promote", "nope", "--from", "dev", "--to", "stg", str(root))
    assert unknown.exit_code == 2 and "no endpoint `nope` in dev" in unknown.stderr
    missing_env = run_cli("promote", "example-model", "--from", "dev", "--to", "qa", str(root))
    assert missing_env.exit_code == 2 and "environment `qa` does not exist" in missing_env.stderr


@pytest.mark.parametrize("name", ["bad..name", "with space", "/leading", "a.lock", "-dash"])
def test_an_invalid_branch_name_is_a_usage_error_and_creates_nothing(
    repo: git.Repo, name: str
) -> None:
    root = root_of(repo)
    (root / DEV_ENDPOINT).write_text((root / DEV_ENDPOINT).read_text().replace("1024", "512"))
    commit_all(repo, "dev change")
    result = run_cli(
        "promote", "example-model", "--from", "dev", "--to", "stg", str(root), f"--branch={name}"
    )
    assert result.exit_code == 2, result.stderr
    assert "is not a valid branch name" in result.stderr and "internal error" not in result.stderr
    assert [head.name for head in repo.heads] == ["main"]


def add_stg_endpoint(repo: git.Repo, name: str) -> None:
    """A second stg endpoint serving the model prod already approves: only prod's policy can
    object."""
    root = root_of(repo)
    text = (
        (root / STG_ENDPOINT)
        .read_text()
        .replace("name: example-model", f"name: {name}")
        .replace("/serve/example-model", f"/serve/{name}")
    )
    write_files(root, {f"environments/stg/serving/{name}.yaml": text})
    commit_all(repo, f"stg: {name}")


def branches(repo: git.Repo) -> list[str]:
    return sorted(head.name for head in repo.heads)


def test_a_result_the_targets_policy_forbids_creates_no_branch(repo: git.Repo) -> None:
    add_stg_endpoint(repo, "chat")  # one replica: prod requires two (P010), and two approvers
    head = repo.head.commit.hexsha
    result = run_cli("promote", "chat", "--from", "stg", "--to", "prod", str(root_of(repo)))
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "[P010]" in result.stderr and "nothing was created" in result.stderr
    assert "created branch" not in result.stdout
    assert branches(repo) == ["main"] and repo.head.commit.hexsha == head


def test_an_error_outside_the_approval_rules_in_the_target_refuses(repo: git.Repo) -> None:
    root = root_of(repo)
    approval = root / "environments/prod/approvals/example-base-model-1-0-alice.yaml"
    text = approval.read_text().replace(
        "  status: approved\n", "  status: approved\n  environment: stg\n"
    )
    approval.write_text(text)
    commit_all(repo, "prod: an approval names the wrong environment (P005)")
    (root / STG_ENDPOINT).write_text((root / STG_ENDPOINT).read_text().replace("1024", "512"))
    commit_all(repo, "stg change")
    result = run_cli("promote", "example-model", "--from", "stg", "--to", "prod", str(root))
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "[P005]" in result.stderr and "prod has 1 error(s) at HEAD" in result.stderr
    assert branches(repo) == ["main"]


def test_only_missing_approvals_leave_a_useful_branch(repo: git.Repo) -> None:
    root = root_of(repo)
    add_stg_endpoint(repo, "chat")
    text = (
        (root / "environments/stg/serving/chat.yaml")
        .read_text()
        .replace("minReplicas: 1", "minReplicas: 2")
    )
    write_files(root, {"environments/stg/serving/chat.yaml": text})
    model = (root / "environments/_shared/catalog/example-base-model.yaml").read_text()
    write_files(
        root,
        {
            "environments/stg/models/base-2.yaml": model.replace(
                '"version": "1.0"', '"version": "2.0"'
            ).replace("/1.0/", "/2.0/")
        },
    )
    write_files(
        root,
        {
            "environments/stg/serving/chat.yaml": text.replace(
                "example-base-model@1.0", "example-base-model@2.0"
            )
        },
    )
    assert (
        run_cli(
            "approve",
            "example-base-model@2.0",
            "--env",
            "stg",
            "--by",
            "admin",
            "--role",
            "admin",
            str(root),
        ).exit_code
        == 0
    )
    commit_all(repo, "stg: chat serves 2.0 on two replicas")
    result = run_cli("promote", "chat", "--from", "stg", "--to", "prod", str(root))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "prod needs 2 more approval(s) of example-base-model@2.0" in result.stdout
    assert branches(repo) == ["main", "promote/chat-stg-to-prod"]
    repo.git.switch("promote/chat-stg-to-prod")
    for who in ("alice", "bob"):
        assert (
            run_cli(
                "approve",
                "example-base-model@2.0",
                "--env",
                "prod",
                "--by",
                who,
                "--role",
                "admin",
                str(root),
            ).exit_code
            == 0
        )
    assert validate(root, "prod").error_count == 0
