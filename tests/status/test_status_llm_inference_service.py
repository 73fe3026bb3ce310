"""`llmops status` on LLMInferenceServices, end to end: the real `kubernetes` client reads each one
at its own API path and judges it from its conditions."""

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

EXAMPLE = PROJECT_ROOT / "examples" / "llm_inference_service"
READY = [
    live.condition(name, "True")
    for name in ("MainWorkloadReady", "Ready", "RouterReady", "WorkloadsReady")
]
NO_POOL = "InferencePool support-chat-inference-pool not found"


def _llmisvc(rendered: dict[str, Any], conditions: list[dict[str, Any]]) -> dict[str, Any]:
    obj = live.stored(rendered)
    obj["status"] = {
        "observedGeneration": 1,
        "conditions": conditions,
        "url": "http://gateway.example/llm-ops-dev/support-chat",
    }
    return obj


@pytest.fixture
def example(tmp_path: Path) -> Path:
    root = tmp_path / "estate"
    shutil.copytree(EXAMPLE / "environments", root / "environments")
    return root


def test_reads_llm_inference_services_and_names_the_failing_condition(
    example: Path, cluster: KubeApiServer, kubeconfig: Path
) -> None:
    rendered = Rendered(example)
    dev = next(
        obj
        for obj in rendered.objects
        if obj["kind"] == "LLMInferenceService" and obj["metadata"]["namespace"] == "llm-ops-dev"
    )
    failing = [
        live.condition(name, "False", "InferencePoolFetchError", NO_POOL)
        if name in ("InferencePoolReady", "RouterReady", "Ready")
        else live.condition(name, "True")
        for name in ("InferencePoolReady", "MainWorkloadReady", "Ready", "RouterReady")
    ]
    cluster.put(_llmisvc(dev, failing))
    result = run_cli(
        "status", str(example), "--env", "dev", "--kubeconfig", str(kubeconfig), "-o", "json"
    )
    assert result.exit_code == 1, result.stdout + result.stderr
    (endpoint,) = json.loads(result.stdout)["environments"][0]["endpoints"]
    assert endpoint["object"]["apiVersion"] == "serving.kserve.io/v1alpha1"
    assert endpoint["object"]["kind"] == "LLMInferenceService"
    assert endpoint["verdict"] == "Degraded"
    assert endpoint["reason"] == f"InferencePoolReady: InferencePoolFetchError: {NO_POOL}"
    assert tuple(path for path, _ in cluster.requests if "llminferenceservices" in path) == (
        "/apis/serving.kserve.io/v1alpha1/namespaces/llm-ops-dev/llminferenceservices/support-chat",
    )

    cluster.put(_llmisvc(dev, READY))
    (job,) = [obj for obj in rendered.objects if obj["kind"] == "Job"]
    cluster.put(live.job(job, "succeeded"))
    result = run_cli("status", str(example), "--env", "dev", "--kubeconfig", str(kubeconfig))
    assert result.exit_code == 0, result.stdout + result.stderr
    (row,) = [
        line for line in result.stdout.splitlines() if line.split()[:2] == ["dev", "support-chat"]
    ]
    assert row.split()[2:6] == [
        "Healthy",
        "True",
        "True",
        "-",
    ]  # verdict, Ready, workloads, stopped
