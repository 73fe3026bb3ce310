"""A canary's life in git, through the CLI on a real repository: added, raised, aborted with
`llmops rollback`, promoted by editing, and carried by `llmops promote`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import git
import pytest
import yaml

from tests.helpers.estate import PROJECT_ROOT, run_cli
from tests.helpers.git_repo import commit_all, init_repository, root_of

PROD = "environments/prod/serving/example-model.yaml"
STG = "environments/stg/serving/example-model.yaml"
CANARY_10 = "  canary:\n    model: example-base-model@1.1\n    weight: 10\n"


def edit(repo: git.Repo, relative: str, old: str, new: str) -> None:
    path = root_of(repo) / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {relative}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def canary_repository(tmp_path: Path, example: str, weight: int = 10) -> git.Repo:
    """examples/<example>, committed first with prod on 1.0 and no canary, then with the canary of
    1.1 at ``weight``."""
    root = tmp_path / "estate"
    shutil.copytree(PROJECT_ROOT / "examples" / example / "environments", root / "environments")
    repository = init_repository(root)
    edit(repository, PROD, CANARY_10, "")
    commit_all(repository, "prod serves 1.0")
    edit(
        repository,
        PROD,
        "      max_output_tokens: 1024\n",
        "      max_output_tokens: 1024\n" + CANARY_10.replace("weight: 10", f"weight: {weight}"),
    )
    commit_all(repository, f"Canary example-base-model@1.1 at {weight}%")
    return repository


@pytest.fixture
def repo(tmp_path: Path) -> git.Repo:
    return canary_repository(tmp_path, "canary")


def history(repo: git.Repo) -> list[dict[str, object]]:
    result = run_cli(
        "history", "example-model", "--env", "prod", str(root_of(repo)), "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    entries: list[dict[str, object]] = json.loads(result.stdout)["commits"]
    return entries


def rendered_services(repo: git.Repo) -> dict[str, dict[str, object]]:
    result = run_cli("render", str(root_of(repo)), "--env", "prod")
    assert result.exit_code == 0, result.stderr
    return {
        doc["metadata"]["name"]: doc
        for doc in yaml.safe_load_all(result.stdout)
        if doc and doc["kind"] == "InferenceService"
    }


def git_log(repo: git.Repo) -> list[str]:
    """Subjects as the git binary reads them, newest first."""
    out = subprocess.run(
        ["git", "log", "--format=%s"], cwd=root_of(repo), capture_output=True, text=True, check=True
    )
    return out.stdout.splitlines()


def test_raising_the_weight_reads_as_a_canary_step_in_diff_and_history(repo: git.Repo) -> None:
    edit(repo, PROD, "    weight: 10", "    weight: 50")
    commit_all(repo, "Canary to 50%")
    assert history(repo)[0]["changes"] == ["canary example-base-model@1.1 at 10% -> 50%"]
    assert history(repo)[1]["changes"] == ["canary example-base-model@1.1 added at 10%"]
    diff = run_cli(
        "diff", str(root_of(repo)), "--base", "HEAD~1", "--head", "HEAD", "--env", "prod"
    )
    assert diff.exit_code == 1, diff.stderr
    assert "  example-model: canary example-base-model@1.1 at 10% -> 50%\n" in diff.stdout
    # the canary's replicas follow its weight: 10% of 2-6 is 1, 50% is 1-3
    assert "  replicas: 3-7 -> 3-9\n" in diff.stdout
    assert "spec.predictor.maxReplicas: 1 -> 3" in diff.stdout


def test_rollback_steps_the_weight_back_then_removes_the_canary(repo: git.Repo) -> None:
    edit(repo, PROD, "    weight: 10", "    weight: 50")
    commit_all(repo, "Canary to 50%")
    first = run_cli("rollback", "example-model", "--env", "prod", str(root_of(repo)))
    assert first.exit_code == 0, first.stdout + first.stderr
    assert "    weight: 10\n" in (root_of(repo) / PROD).read_text(encoding="utf-8")
    second = run_cli("rollback", "example-model", "--env", "prod", str(root_of(repo)))
    assert second.exit_code == 0, second.stdout + second.stderr
    assert (
        "canary" not in yaml.safe_load((root_of(repo) / PROD).read_text(encoding="utf-8"))["spec"]
    )
    assert sorted(rendered_services(repo)) == ["example-model"]
    # two commits, as the git binary reads them
    assert all(
        subject.startswith("Roll back ServingEndpoint example-model in prod to ")
        for subject in git_log(repo)[:2]
    )
    assert history(repo)[0]["changes"] == ["canary example-base-model@1.1 at 10% removed"]


def test_promoting_the_canary_by_editing_is_one_commit_history_names(repo: git.Repo) -> None:
    edit(repo, PROD, "modelId: example-base-model@1.0", "modelId: example-base-model@1.1")
    edit(repo, PROD, CANARY_10, "")
    assert run_cli("validate", str(root_of(repo))).exit_code == 0
    commit_all(repo, "Promote the canary")
    assert history(repo)[0]["changes"] == [
        "model example-base-model@1.0 -> example-base-model@1.1",
        "canary example-base-model@1.1 promoted (at 10%): it is the model now",
        "approvals of example-base-model@1.1: alice, bob",
    ]
    services = rendered_services(repo)
    assert sorted(services) == ["example-model"]
    predictor = services["example-model"]["spec"]["predictor"]  # type: ignore[index]
    assert predictor["model"]["storageUri"] == "s3://models/example-base-model/1.1/"


def test_a_canary_left_behind_by_a_promotion_is_t002(repo: git.Repo) -> None:
    edit(repo, PROD, "modelId: example-base-model@1.0", "modelId: example-base-model@1.1")
    result = run_cli("validate", str(root_of(repo)))
    assert result.exit_code == 1
    assert "error[T002]: the canary serves example-base-model@1.1" in result.stdout


def test_llmops_promote_completes_a_canary_of_the_promoted_version(repo: git.Repo) -> None:
    result = run_cli(
        "promote", "example-model", "--from", "stg", "--to", "prod", str(root_of(repo))
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "canary example-base-model@1.1 removed: the promotion makes it the model" in (
        result.stdout
    )
    promoted = subprocess.run(
        ["git", "show", f"promote/example-model-stg-to-prod:{PROD}"],
        cwd=root_of(repo),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    spec = yaml.safe_load(promoted)["spec"]
    assert spec["modelId"] == "example-base-model@1.1" and "canary" not in spec
    assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 6)  # prod's own
    # the document is written anew (a key goes), in prod's order: the diff is the model and the
    # canary, not prod's autoscalePolicy moved below stg's keys
    changed = subprocess.run(
        ["git", "diff", "-U0", "HEAD", "promote/example-model-stg-to-prod", "--", PROD],
        cwd=root_of(repo),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = [
        line
        for line in changed.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert lines == [
        "-  modelId: example-base-model@1.0",
        "+  modelId: example-base-model@1.1",
        "-  canary:",
        "-    model: example-base-model@1.1",
        "-    weight: 10",
    ]


def test_llmops_promote_leaves_the_sources_canary_behind(repo: git.Repo) -> None:
    """A canary is one environment's rollout: stg's does not travel to prod."""
    edit(repo, PROD, CANARY_10, "")
    edit(
        repo,
        STG,
        "      max_output_tokens: 1024\n",
        "      max_output_tokens: 1024\n"
        + ("  canary:\n    model: example-base-model@1.0\n    weight: 20\n"),
    )
    commit_all(repo, "stg tries 1.0 again as a canary; prod without one")
    result = run_cli(
        "promote", "example-model", "--from", "stg", "--to", "prod", str(root_of(repo))
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    promoted = subprocess.run(
        ["git", "show", f"promote/example-model-stg-to-prod:{PROD}"],
        cwd=root_of(repo),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    spec = yaml.safe_load(promoted)["spec"]
    assert spec["modelId"] == "example-base-model@1.1" and "canary" not in spec


def test_aborting_the_readme_walkthrough_steps_back_one_weight_at_a_time(tmp_path: Path) -> None:
    """The README's walkthrough adds the canary at 0%, then raises it to 10% and 50%: rollbacks
    go 50% -> 10%, 10% -> 0%, and only the third removes the canary."""
    repository = canary_repository(tmp_path, "canary", weight=0)
    root = root_of(repository)
    edit(repository, PROD, "    weight: 0", "    weight: 10")
    commit_all(repository, "Canary at 10%")
    edit(repository, PROD, "    weight: 10", "    weight: 50")
    commit_all(repository, "Canary at 50%")
    seen = []
    for _ in range(3):
        done = run_cli("rollback", "example-model", "--env", "prod", str(root))
        assert done.exit_code == 0, done.stderr
        seen.append(yaml.safe_load((root / PROD).read_text())["spec"].get("canary"))
    weights = [canary and canary["weight"] for canary in seen]
    assert weights == [10, 0, None]
