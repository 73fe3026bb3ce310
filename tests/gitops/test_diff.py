"""`llmops diff` on real repositories: what a pull request changes in the cluster, and nothing
else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.estate import copy_bundled_estate, run_cli, write_files
from tests.helpers.git_repo import commit_all, init_repository

PROD_ENDPOINT = "environments/prod/serving/example-model.yaml"
MODEL = "environments/_shared/catalog/example-base-model.yaml"


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    root = copy_bundled_estate(tmp_path / "repo")
    commit_all(init_repository(root), "the bundled estate")
    return root


def edit(root: Path, relative: str, old: str, new: str) -> None:
    path = root / relative
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_no_change_exits_0(estate: Path) -> None:
    result = run_cli("diff", str(estate), "--base", "HEAD")
    assert (result.exit_code, result.stdout) == (0, "no changes\n")


def test_replica_change_is_reported_by_field_with_the_capacity_summary(estate: Path) -> None:
    edit(estate, PROD_ENDPOINT, "maxReplicas: 6", "maxReplicas: 8")
    result = run_cli("diff", str(estate), "--base", "HEAD", "--env", "prod")
    assert result.exit_code == 1
    assert "  replicas: 2-6 -> 2-8\n" in result.stdout
    assert "  GPUs: 2-6 -> 2-8\n" in result.stdout
    assert (
        "  ~ InferenceService/example-model\n      spec.predictor.maxReplicas: 6 -> 8\n"
        in result.stdout
    )
    # inside the embedded JSON
    assert 'data["proxy.json"].endpoints[0].maxReplicas: 6 -> 8' in result.stdout
    assert result.stdout.endswith("0 added, 3 changed, 0 removed\n")


def test_the_checkout_is_never_touched(estate: Path) -> None:
    import git

    repo = git.Repo(estate)
    edit(estate, PROD_ENDPOINT, "maxReplicas: 6", "maxReplicas: 8")
    head, changed = repo.head.commit.hexsha, [item.a_path for item in repo.index.diff(None)]
    text = (estate / PROD_ENDPOINT).read_text()
    assert run_cli("diff", str(estate), "--base", "HEAD").exit_code == 1
    assert repo.head.commit.hexsha == head
    assert [item.a_path for item in repo.index.diff(None)] == changed
    assert (estate / PROD_ENDPOINT).read_text() == text


def test_new_endpoint_model_version_and_approvals_between_two_revisions(estate: Path) -> None:
    import git

    repo = git.Repo(estate)
    base = repo.head.commit.hexsha
    model = (estate / MODEL).read_text()
    write_files(
        estate,
        {
            "environments/_shared/catalog/example-base-model-1.1.yaml": model.replace(
                '"version": "1.0"', '"version": "1.1"'
            ).replace("/1.0/", "/1.1/")
        },
    )
    for env, people in (("dev", ["admin"]), ("stg", ["admin"]), ("prod", ["alice", "bob"])):
        for person in people:
            assert (
                run_cli(
                    "approve",
                    "example-base-model@1.1",
                    "--env",
                    env,
                    "--by",
                    person,
                    "--role",
                    "admin",
                    str(estate),
                ).exit_code
                == 0
            )
    edit(estate, PROD_ENDPOINT, "example-base-model@1.0", "example-base-model@1.1")
    # prod serves only what stg serves (promotion order): stg moves too
    edit(
        estate,
        "environments/stg/serving/example-model.yaml",
        "example-base-model@1.0",
        "example-base-model@1.1",
    )
    dev_endpoint = (estate / "environments/dev/serving/example-model.yaml").read_text()
    write_files(
        estate,
        {
            "environments/dev/serving/second.yaml": dev_endpoint.replace(
                "name: example-model", "name: second"
            ).replace("serve/example-model", "serve/second")
        },
    )
    head = commit_all(repo, "model 1.1 in prod, a second endpoint in dev")
    (estate / PROD_ENDPOINT).write_text("garbage: [\n")  # the working tree is not what is compared
    result = run_cli("diff", str(estate), "--base", base, "--head", head, "--format", "json")
    assert result.exit_code == 1, result.stderr
    summary = {item["environment"]: item for item in json.loads(result.stdout)["summary"]}
    assert summary["dev"]["endpointsAdded"] == ["second"]
    assert summary["prod"]["modelsChanged"] == [
        {
            "endpoint": "example-model",
            "before": "example-base-model@1.0",
            "after": "example-base-model@1.1",
        }
    ]
    assert sorted(summary["prod"]["approvalsAdded"]) == [
        "example-base-model@1.1 by alice (admin)",
        "example-base-model@1.1 by bob (admin)",
    ]
    changes = json.loads(result.stdout)["changes"]
    added = {(c["environment"], c["kind"], c["name"]) for c in changes if c["status"] == "added"}
    assert ("dev", "InferenceService", "second") in added and (
        "dev",
        "Ingress",
        "second-llmops",
    ) in added


def test_markdown_is_a_pull_request_comment(estate: Path) -> None:
    edit(estate, PROD_ENDPOINT, "minReplicas: 2", "minReplicas: 3")
    result = run_cli("diff", str(estate), "--base", "HEAD", "--format", "markdown")
    assert result.exit_code == 1
    assert result.stdout.startswith("### llmops diff\n\n| environment | what changes |")
    assert "| `prod` | replicas: 2-6 -&gt; 3-6<br>GPUs: 2-6 -&gt; 3-6 |" in result.stdout
    assert "<details><summary><b>prod</b>: 3 changed</summary>" in result.stdout
    assert result.stdout.count("```") % 2 == 0


def test_a_side_with_errors_is_reported_not_hidden(estate: Path) -> None:
    edit(estate, PROD_ENDPOINT, "maxReplicas: 6", "maxReplica: 6")
    result = run_cli("diff", str(estate), "--base", "HEAD")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "the head (working tree) has 1 error(s)" in result.stderr
    assert f"{PROD_ENDPOINT}:11:3: error[S001]: unknown field `maxReplica`" in result.stderr


def test_unknown_revision_and_no_repository_are_usage_errors(estate: Path, tmp_path: Path) -> None:
    unknown = run_cli("diff", str(estate), "--base", "no-such-branch")
    assert unknown.exit_code == 2 and "unknown revision `no-such-branch`" in unknown.stderr
    plain = copy_bundled_estate(tmp_path / "plain")
    outside = run_cli("diff", str(plain), "--base", "HEAD")
    assert outside.exit_code == 2 and "not inside a git repository" in outside.stderr


def test_an_estate_in_a_subdirectory_and_a_new_environment(tmp_path: Path) -> None:
    repo = init_repository(tmp_path)
    write_files(tmp_path, {"README.md": "platform monorepo\n"})
    base = commit_all(repo, "before the estate existed")
    estate = copy_bundled_estate(tmp_path / "llm")
    commit_all(repo, "add the estate")
    result = run_cli("diff", str(estate), "--base", base, "--env", "dev")
    assert result.exit_code == 1
    assert "dev:\n  endpoints added: example-model\n" in result.stdout
    assert " removed" in result.stdout and "0 changed, 0 removed" in result.stdout


def test_an_environment_neither_side_has_is_a_usage_error_not_no_changes(estate: Path) -> None:
    """A misspelt --env in CI must not post "no changes" on a pull request."""
    result = run_cli("diff", str(estate), "--base", "HEAD", "--env", "develop")
    assert (result.exit_code, result.stdout) == (2, "")
    assert (
        "environment `develop` does not exist (environments: dev, prod, stg), neither at the base "
        "(HEAD) nor at the head (working tree)" in result.stderr
    )
    for output_format in ("text", "markdown"):
        markdown = run_cli(
            "diff", str(estate), "--base", "HEAD", "--env", "develop", "--format", output_format
        )
        assert (markdown.exit_code, markdown.stdout) == (2, "")


def test_an_environment_added_since_the_base_is_all_new(estate: Path) -> None:
    import shutil

    shutil.copytree(estate / "environments" / "dev", estate / "environments" / "qa")
    edit(estate, "environments/qa/environment.yaml", "name: dev", "name: qa")
    edit(estate, "environments/qa/environment.yaml", "llm-ops-dev", "llm-ops-qa")
    edit(
        estate, "environments/qa/serving/example-model.yaml", "environment: dev", "environment: qa"
    )
    result = run_cli("diff", str(estate), "--base", "HEAD", "--env", "qa")
    assert result.exit_code == 1, result.stderr
    assert "qa:\n  endpoints added: example-model\n" in result.stdout
