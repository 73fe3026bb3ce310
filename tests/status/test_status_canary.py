"""`llmops status` shows an endpoint's canary as a row of its own, with its own verdict."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import live_objects as live
from tests.helpers.estate import PROJECT_ROOT, run_cli
from tests.helpers.kube_api import KubeApiServer
from tests.status.conftest import Rendered

pytestmark = pytest.mark.slow


def test_both_variants_have_their_own_verdict(tmp_path: Path) -> None:
    estate = tmp_path / "estate"
    shutil.copytree(PROJECT_ROOT / "examples/canary/environments", estate / "environments")
    rendered = Rendered(estate)
    services = {
        obj["metadata"]["name"]: obj
        for obj in rendered.objects
        if obj["kind"] == "InferenceService"
        and obj["metadata"]["labels"]["llmops.io/environment"] == "prod"
    }
    with KubeApiServer().running() as cluster:
        kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig")
        cluster.put(live.ready_isvc(services["example-model"]))
        cluster.put(live.failing_isvc(services["example-model-canary"]))
        result = run_cli(
            "status", str(estate), "--env", "prod", "--kubeconfig", str(kubeconfig), "-o", "json"
        )
        table = run_cli("status", str(estate), "--env", "prod", "--kubeconfig", str(kubeconfig))
    assert result.exit_code == 1, result.stderr
    (prod,) = json.loads(result.stdout)["environments"]
    rows = {row["name"]: row for row in prod["endpoints"]}
    assert sorted(rows) == ["example-model", "example-model (canary)"]
    assert rows["example-model"]["verdict"] == "Healthy"
    canary = rows["example-model (canary)"]
    assert canary["verdict"] == "Degraded"
    assert canary["object"]["name"] == "example-model-canary"
    assert "prod endpoint example-model (canary): Degraded: PredictorReady" in table.stdout


LLM_READY = ("MainWorkloadReady", "Ready", "RouterReady", "WorkloadsReady")


def _llmisvc(rendered: dict[str, Any], failing: str | None) -> dict[str, Any]:
    obj = live.stored(rendered)
    conditions = [
        live.condition(name, "False", "MinimumReplicasUnavailable", "0/1 ready")
        if failing is not None and name in (failing, "WorkloadsReady", "Ready")
        else live.condition(name, "True")
        for name in LLM_READY
    ]
    obj["status"] = {"observedGeneration": 1, "conditions": conditions}
    return obj


def test_both_llm_inference_service_variants_have_their_own_verdict(tmp_path: Path) -> None:
    """On the LLMInferenceService backend the canary is a second LLMInferenceService of the
    endpoint's route group; status reads it at its own path and judges it alone."""
    estate = tmp_path / "estate"
    shutil.copytree(
        PROJECT_ROOT / "examples/llm_inference_service_canary/environments",
        estate / "environments",
    )
    rendered = Rendered(estate)
    services = {
        obj["metadata"]["name"]: obj
        for obj in rendered.objects
        if obj["kind"] == "LLMInferenceService"
    }
    with KubeApiServer().running() as cluster:
        kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig")
        cluster.put(_llmisvc(services["example-model"], None))
        cluster.put(_llmisvc(services["example-model-canary"], "MainWorkloadReady"))
        result = run_cli(
            "status", str(estate), "--env", "prod", "--kubeconfig", str(kubeconfig), "-o", "json"
        )
    assert result.exit_code == 0, result.stderr  # a canary still coming up fails nothing
    (prod,) = json.loads(result.stdout)["environments"]
    rows = {row["name"]: row for row in prod["endpoints"]}
    assert sorted(rows) == ["example-model", "example-model (canary)"]
    assert rows["example-model"]["verdict"] == "Healthy"
    canary = rows["example-model (canary)"]
    assert canary["verdict"] == "Progressing"
    assert canary["object"] == {
        **canary["object"],
        "kind": "LLMInferenceService",
        "name": "example-model-canary",
    }
    assert "MainWorkloadReady=False (MinimumReplicasUnavailable" in canary["reason"]
