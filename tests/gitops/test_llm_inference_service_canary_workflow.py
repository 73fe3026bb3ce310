"""A canary on the LLMInferenceService backend through the CLI on a real repository: raising its
weight moves both route-group weights and reads as a canary step in `diff` and `history`, and
`llmops rollback` steps it back, then removes it (the endpoint leaves the route group)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import git
import pytest
import yaml

from tests.gitops.test_canary_workflow import PROD, canary_repository, edit, history
from tests.helpers.estate import run_cli
from tests.helpers.git_repo import commit_all, root_of


@pytest.fixture
def repo(tmp_path: Path) -> git.Repo:
    """examples/llm_inference_service_canary, committed without the canary, then with it."""
    return canary_repository(tmp_path, "llm_inference_service_canary")


def routes(repo: git.Repo) -> dict[str, dict[str, Any]]:
    result = run_cli("render", str(root_of(repo)), "--env", "prod")
    assert result.exit_code == 0, result.stderr
    return {
        doc["metadata"]["name"]: doc["spec"]["router"]["route"]
        for doc in yaml.safe_load_all(result.stdout)
        if doc and doc["kind"] == "LLMInferenceService"
    }


def test_raising_the_weight_moves_both_route_weights(repo: git.Repo) -> None:
    assert routes(repo) == {
        "example-model": {"group": "example-model", "weight": 90},
        "example-model-canary": {"group": "example-model", "weight": 10},
    }
    edit(repo, PROD, "    weight: 10", "    weight: 50")
    commit_all(repo, "Canary to 50%")
    assert history(repo)[0]["changes"] == ["canary example-base-model@1.1 at 10% -> 50%"]
    diff = run_cli("diff", str(root_of(repo)), "--base", "HEAD~1", "--env", "prod")
    assert diff.exit_code == 1, diff.stderr
    assert "example-model: canary example-base-model@1.1 at 10% -> 50%" in diff.stdout
    assert "LLMInferenceService/example-model-canary" in diff.stdout
    assert routes(repo)["example-model"] == {"group": "example-model", "weight": 50}


def test_rollback_steps_back_then_leaves_the_route_group(repo: git.Repo) -> None:
    edit(repo, PROD, "    weight: 10", "    weight: 50")
    commit_all(repo, "Canary to 50%")
    first = run_cli("rollback", "example-model", "--env", "prod", str(root_of(repo)))
    assert first.exit_code == 0, first.stdout + first.stderr
    assert routes(repo)["example-model-canary"] == {"group": "example-model", "weight": 10}
    second = run_cli("rollback", "example-model", "--env", "prod", str(root_of(repo)))
    assert second.exit_code == 0, second.stdout + second.stderr
    assert routes(repo) == {"example-model": {}}
    assert history(repo)[0]["changes"] == ["canary example-base-model@1.1 at 10% removed"]
