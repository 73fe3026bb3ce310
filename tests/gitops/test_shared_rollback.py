"""Rolling back an endpoint that comes from `_shared/` past the commit that created it: the
environment cannot drop a shared endpoint alone, so the rollback refuses rather than delete the
environment's override and let the shared manifest (the version a rollback undid) be deployed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import git
import pytest

from compiler.errors import LlmopsError
from llmops.gitops.rollback_plan import RollbackPlan, check_outcome
from llmops.gitops.snapshots import document_digest
from tests.helpers.estate import run_cli
from tests.helpers.git_repo import assert_git_agrees, init_repository

SHARED = "environments/_shared/serving/my-model.yaml"
OVERRIDE = "environments/dev/serving/my-model.yaml"


def git_commit(root: Path, message: str) -> str:
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-q", "-m", message], cwd=root, check=True)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def max_replicas(root: Path) -> str:
    result = run_cli("render", "--env", "dev", str(root))
    assert result.exit_code == 0, result.stderr
    return next(
        line.split(":")[1].strip()
        for line in result.stdout.splitlines()
        if line.strip().startswith("maxReplicas:")
    )


def shared_endpoint_estate(tmp_path: Path) -> tuple[Path, git.Repo]:
    """An estate from `llmops init` (dev and stg), with an endpoint added to _shared and then
    changed there."""
    root = tmp_path / "estate"
    assert run_cli("init", str(root)).exit_code == 0
    for env in ("prod",):
        for folder in (root / "environments" / env, root / "environments/_examples" / env):
            subprocess.run(["rm", "-rf", str(folder)], check=True)
    repo = init_repository(root)
    git_commit(root, "init")
    for env in ("dev", "stg"):
        result = run_cli(
            "approve", "my-model@1.0", "--env", env, "--by", "bob", "--role", "admin", str(root)
        )
        assert result.exit_code == 0, result.stderr
    git_commit(root, "approve")
    example = (root / "environments/_examples/dev/serving/my-model.yaml").read_text()
    shared = "".join(line for line in example.splitlines(True) if "environment: dev" not in line)
    assert "maxReplicas: 2\n" in shared
    (root / SHARED).parent.mkdir(parents=True)
    (root / SHARED).write_text(shared)
    git_commit(root, "add the shared endpoint (maxReplicas 2)")
    (root / SHARED).write_text(shared.replace("maxReplicas: 2\n", "maxReplicas: 5\n"))
    git_commit(root, "shared maxReplicas 5")
    return root, repo


def test_rolling_back_past_a_shared_endpoints_creation_refuses(tmp_path: Path) -> None:
    root, repo = shared_endpoint_estate(tmp_path)
    first = run_cli("rollback", "my-model", "--env", "dev", str(root))
    assert first.exit_code == 0, first.stdout + first.stderr
    assert max_replicas(root) == "2"
    head = repo.head.commit.hexsha

    second = run_cli("rollback", "my-model", "--env", "dev", str(root))
    assert second.exit_code == 2, second.stdout + second.stderr
    assert "would not remove it but deploy the shared" in second.stderr
    assert "cannot be removed from dev alone" in second.stderr
    assert "deleted" not in second.stdout
    # nothing changed: dev keeps the version the first rollback restored
    assert repo.head.commit.hexsha == head and (root / OVERRIDE).exists()
    assert max_replicas(root) == "2"
    assert_git_agrees(root)


def test_removing_an_endpoint_the_root_commit_added_says_so_plainly(tmp_path: Path) -> None:
    root = tmp_path / "estate"
    assert run_cli("init", str(root)).exit_code == 0
    (root / OVERRIDE).parent.mkdir(parents=True, exist_ok=True)
    (root / OVERRIDE).write_text(
        (root / "environments/_examples/dev/serving/my-model.yaml").read_text()
    )
    approval = ("approve", "my-model@1.0", "--env", "dev", "--by", "bob", "--role", "admin")
    assert run_cli(*approval, str(root)).exit_code == 0
    init_repository(root)
    added = git_commit(root, "everything at once")
    (root / OVERRIDE).write_text(
        (root / OVERRIDE).read_text().replace("maxReplicas: 2", "maxReplicas: 3")
    )
    git_commit(root, "maxReplicas 3")
    assert run_cli("rollback", "my-model", "--env", "dev", str(root)).exit_code == 0

    removing = run_cli("rollback", "my-model", "--env", "dev", str(root), "--dry-run")
    assert removing.exit_code == 0, removing.stdout + removing.stderr
    assert f"deleted (it did not exist before {added[:12]})" in removing.stdout
    assert f"Roll back ServingEndpoint my-model in dev to before {added[:12]}" in removing.stdout
    assert f"Removes the endpoint: it did not exist before {added[:12]}, which added it." in (
        removing.stdout
    )
    assert "at before" not in removing.stdout and "start of history" not in removing.stdout


def test_a_plan_that_would_deploy_something_else_than_it_says_is_refused(repo: git.Repo) -> None:
    """The last guard, whatever the planning missed: the estate the rollback would leave must
    deploy exactly the manifest it restores, or nothing when it removes the endpoint."""
    manifest = {"kind": "ServingEndpoint", "metadata": {"name": "example-model"}}
    removing = RollbackPlan("example-model", "dev", repo.head.commit, None, [])
    with pytest.raises(LlmopsError, match="would not remove `example-model` in dev"):
        check_outcome(removing, manifest)
    check_outcome(removing, None)
    restoring = RollbackPlan("example-model", "dev", repo.head.commit, repo.head.commit, [])
    restoring.restored_digest = document_digest(manifest)
    with pytest.raises(LlmopsError, match="would remove `example-model` in dev instead"):
        check_outcome(restoring, None)
    with pytest.raises(LlmopsError, match="would deploy another manifest"):
        check_outcome(restoring, {**manifest, "spec": {}})
    check_outcome(restoring, manifest)
