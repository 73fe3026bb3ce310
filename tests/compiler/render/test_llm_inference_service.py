"""The LLMInferenceService backend: the example estate's golden files, and what each rendered field
carries from the ServingEndpoint and the environment."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from compiler.render.estate import render_estate
from tests.helpers.estate import PROJECT_ROOT, validate

EXAMPLE = PROJECT_ROOT / "examples" / "llm_inference_service"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    estate = tmp_path_factory.mktemp("llmisvc")
    shutil.copytree(EXAMPLE / "environments", estate / "environments")
    result = validate(estate)
    assert [d.code for d in result.diagnostics] == []
    return render_estate(result.estate).groups


def _llmisvc(groups: dict[str, list[dict[str, Any]]], env: str) -> dict[str, Any]:
    (found,) = [obj for obj in groups[env] if obj["kind"] == "LLMInferenceService"]
    return found


def _proxy_endpoints(groups: dict[str, list[dict[str, Any]]], env: str) -> dict[str, Any]:
    import json

    (config,) = [obj for obj in groups[env] if obj["metadata"]["name"] == "llmops-proxy-config"]
    return {e["name"]: e for e in json.loads(config["data"]["proxy.json"])["endpoints"]}


def test_api_version_follows_the_kserve_version(rendered: dict[str, Any]) -> None:
    assert _llmisvc(rendered, "dev")["apiVersion"] == "serving.kserve.io/v1alpha1"  # 0.16
    assert _llmisvc(rendered, "prod")["apiVersion"] == "serving.kserve.io/v1alpha2"  # 0.17


def test_model_and_limits_reach_vllm(rendered: dict[str, Any]) -> None:
    spec = _llmisvc(rendered, "prod")["spec"]
    assert spec["model"] == {"uri": "s3://models/support-base/3.1/", "name": "support-chat"}
    (main,) = spec["template"]["containers"]
    assert main["name"] == "main"
    assert "--served-model-name=support-chat" in main["args"]
    assert "--max-model-len=9216" in main["args"]  # 8,192 input + 1,024 output tokens
    assert "--max-num-seqs=128" in main["args"]
    assert "--tensor-parallel-size=2" in main["args"]
    assert spec["parallelism"] == {"tensor": 2}
    assert main["resources"]["requests"] == main["resources"]["limits"]
    assert main["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert main["readinessProbe"]["httpGet"] == {"path": "/health", "port": 8000, "scheme": "HTTPS"}


def test_fixed_size_renders_replicas_and_a_range_renders_scaling(rendered: dict[str, Any]) -> None:
    dev, prod = _llmisvc(rendered, "dev")["spec"], _llmisvc(rendered, "prod")["spec"]
    assert dev["replicas"] == 1 and "scaling" not in dev
    assert "replicas" not in prod
    assert prod["scaling"] == {"minReplicas": 2, "maxReplicas": 4, "wva": {"keda": {}}}


def test_router_defaults_and_environment_gateways(rendered: dict[str, Any]) -> None:
    assert _llmisvc(rendered, "dev")["spec"]["router"] == {
        "route": {},
        "gateway": {},
        "scheduler": {},
    }
    prod = _llmisvc(rendered, "prod")["spec"]
    assert prod["router"]["gateway"] == {
        "refs": [{"name": "inference-gateway", "namespace": "gateways"}]
    }
    assert prod["baseRefs"] == [{"name": "platform-vllm-defaults"}]


def test_adapters_go_in_model_lora(rendered: dict[str, Any]) -> None:
    lora = _llmisvc(rendered, "dev")["spec"]["model"]["lora"]
    assert lora == {
        "adapters": [{"name": "support-sft", "uri": "s3://models/support-sft/1.0/"}],
        "maxAdapters": 1,
        "maxRank": 16,
    }


def test_an_endpoint_backend_overrides_the_environment(rendered: dict[str, Any]) -> None:
    kinds = {obj["metadata"]["name"]: obj["kind"] for obj in rendered["prod"]}
    assert kinds["support-chat"] == "LLMInferenceService"
    assert kinds["support-search"] == "InferenceService"


def test_the_proxy_calls_vllm_through_the_route(rendered: dict[str, Any]) -> None:
    dev = _proxy_endpoints(rendered, "dev")["support-chat"]["backend"]
    assert dev == {
        "url": "http://kserve-ingress-gateway-istio.kserve.svc.cluster.local/llm-ops-dev/support-chat",
        "api": "vllm-openai",
        "openaiPrefix": "/v1",
        "servedModelName": "support-chat",
    }
    prod = _proxy_endpoints(rendered, "prod")
    assert prod["support-chat"]["backend"]["url"] == (
        "http://inference-gateway.gateways.svc.cluster.local/llm-ops-prod/support-chat"
    )
    assert prod["support-search"]["backend"]["api"] == "kserve-openai"
