"""The git workflows on an endpoint served as an LLMInferenceService: `diff` shows the object
kind and the proxy's backend changing, `history` names the change, `rollback` undoes it, and
`promote` leaves the target's backend and parallelism as the target has them."""

from __future__ import annotations

import git
import yaml

from tests.helpers.estate import run_cli
from tests.helpers.git_repo import commit_all, root_of

STG_ENDPOINT = "environments/stg/serving/example-model.yaml"
PROD_ENDPOINT = "environments/prod/serving/example-model.yaml"
AUTOSCALE = "  autoscalePolicy:\n    cpuUtilization: 70\n"
AS_LLM_INFERENCE_SERVICE = "  backend: llminferenceservice\n  parallelism:\n    expert: true\n"


def _switch_stg(repo: git.Repo) -> None:
    path = root_of(repo) / STG_ENDPOINT
    text = path.read_text(encoding="utf-8")
    assert AUTOSCALE in text
    path.write_text(text.replace(AUTOSCALE, AS_LLM_INFERENCE_SERVICE), encoding="utf-8")


def test_diff_history_and_rollback(repo: git.Repo) -> None:
    root = root_of(repo)
    _switch_stg(repo)
    diff = run_cli("diff", str(root), "--base", "HEAD", "--env", "stg")
    assert diff.exit_code == 1, diff.stdout + diff.stderr
    assert "  + LLMInferenceService/example-model\n" in diff.stdout
    assert "  - InferenceService/example-model\n" in diff.stdout
    assert (
        'data["proxy.json"].endpoints[0].backend.api: "kserve-openai" -> "vllm-openai"'
        in diff.stdout
    )
    commit_all(repo, "stg: example-model as an LLMInferenceService")

    history = run_cli("history", "example-model", "--env", "stg", str(root))
    assert history.exit_code == 0, history.stderr
    assert "    backend (unset) -> llminferenceservice\n" in history.stdout

    rollback = run_cli("rollback", "example-model", "--env", "stg", str(root))
    assert rollback.exit_code == 0, rollback.stdout + rollback.stderr
    restored = yaml.safe_load(repo.head.commit.tree[STG_ENDPOINT].data_stream.read())
    assert "backend" not in restored["spec"] and "parallelism" not in restored["spec"]
    render = run_cli("render", str(root), "--env", "stg", "--verify")
    assert render.exit_code == 0, render.stdout + render.stderr


def test_promote_keeps_the_targets_backend_and_parallelism(repo: git.Repo) -> None:
    root = root_of(repo)
    _switch_stg(repo)
    path = root / STG_ENDPOINT
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "max_output_tokens: 1024", "max_output_tokens: 512"
        ),
        encoding="utf-8",
    )
    commit_all(repo, "stg: LLMInferenceService, shorter answers")
    result = run_cli("promote", "example-model", "--from", "stg", "--to", "prod", str(root))
    assert result.exit_code == 0, result.stdout + result.stderr
    commit = repo.commit("promote/example-model-stg-to-prod")
    promoted = yaml.safe_load(commit.tree[PROD_ENDPOINT].data_stream.read())["spec"]
    assert promoted["deploymentSpec"]["runtime"]["max_output_tokens"] == 512  # promoted
    # how prod serves it is prod's decision (its KServe, its GPUs)
    assert "backend" not in promoted and "parallelism" not in promoted


def test_promote_keeps_the_targets_prefill(repo: git.Repo) -> None:
    """A prefill/decode split, like parallelism, is sized for the source's GPUs and KServe."""
    root = root_of(repo)
    path = root / STG_ENDPOINT
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(
            AUTOSCALE,
            AS_LLM_INFERENCE_SERVICE + "  prefill:\n    minReplicas: 1\n    maxReplicas: 2\n",
        ).replace("max_output_tokens: 1024", "max_output_tokens: 512"),
        encoding="utf-8",
    )
    commit_all(repo, "stg: LLMInferenceService with prefill, shorter answers")
    result = run_cli("promote", "example-model", "--from", "stg", "--to", "prod", str(root))
    assert result.exit_code == 0, result.stdout + result.stderr
    commit = repo.commit("promote/example-model-stg-to-prod")
    promoted = yaml.safe_load(commit.tree[PROD_ENDPOINT].data_stream.read())["spec"]
    assert promoted["deploymentSpec"]["runtime"]["max_output_tokens"] == 512
    assert "prefill" not in promoted
