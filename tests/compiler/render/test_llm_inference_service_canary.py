"""A canary on the LLMInferenceService backend: a second LLMInferenceService in the endpoint's
KServe route group, the two weights adding up to 100, and the proxy's sticky split reaching each
variant by its own path on the Gateway."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler.render.estate import render_estate
from tests.helpers.estate import PROJECT_ROOT, validate

EXAMPLE = PROJECT_ROOT / "examples" / "llm_inference_service_canary"
ENDPOINT = "environments/prod/serving/example-model.yaml"
GATEWAY = "http://inference-gateway.gateways.svc.cluster.local"


def _render(root: Path, weight: int | None = None) -> list[dict[str, Any]]:
    shutil.copytree(EXAMPLE / "environments", root / "environments")
    if weight is not None:
        path = root / ENDPOINT
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        document["spec"]["canary"]["weight"] = weight
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    result = validate(root)
    assert [d.code for d in result.diagnostics] == []
    return render_estate(result.estate).groups["prod"]


def _services(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == "LLMInferenceService"}


@pytest.mark.parametrize("weight", [0, 10, 50, 100])
def test_both_variants_join_one_route_group_weighted_by_the_canary(
    weight: int, tmp_path: Path
) -> None:
    services = _services(_render(tmp_path / "estate", weight))
    assert sorted(services) == ["example-model", "example-model-canary"]
    main, canary = services["example-model"], services["example-model-canary"]
    assert main["spec"]["router"]["route"] == {"group": "example-model", "weight": 100 - weight}
    assert canary["spec"]["router"]["route"] == {"group": "example-model", "weight": weight}
    for service in (main, canary):
        # KServe groups only members that serve the same model name
        assert service["spec"]["model"]["name"] == "example-model"
        assert service["metadata"]["labels"]["serving.kserve.io/routing-group"] == "example-model"
    assert canary["metadata"]["labels"]["llmops.io/variant"] == "canary"
    assert canary["spec"]["model"]["uri"] == "s3://models/example-base-model/1.1/"
    assert main["spec"]["model"]["uri"] == "s3://models/example-base-model/1.0/"


def test_an_endpoint_without_a_canary_joins_no_group(tmp_path: Path) -> None:
    root = tmp_path / "estate"
    shutil.copytree(EXAMPLE / "environments", root / "environments")
    path = root / ENDPOINT
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    del document["spec"]["canary"]
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    result = validate(root)
    services = _services(render_estate(result.estate).groups["prod"])
    assert sorted(services) == ["example-model"]
    assert services["example-model"]["spec"]["router"]["route"] == {}
    assert "serving.kserve.io/routing-group" not in services["example-model"]["metadata"]["labels"]


def test_the_proxy_reaches_each_variant_by_its_own_gateway_path(tmp_path: Path) -> None:
    """KServe's per-service path bypasses the group's weighted rule, so the proxy's own sticky
    split decides which variant its callers get."""
    objects = _render(tmp_path / "estate")
    (config,) = [o for o in objects if o["metadata"]["name"] == "llmops-proxy-config"]
    (entry,) = json.loads(config["data"]["proxy.json"])["endpoints"]
    assert entry["backend"]["url"] == f"{GATEWAY}/llm-ops-prod/example-model"
    canary = entry["canary"]
    assert canary["weight"] == 10
    assert canary["backend"] == {
        "url": f"{GATEWAY}/llm-ops-prod/example-model-canary",
        "api": "vllm-openai",
        "openaiPrefix": "/v1",
        "servedModelName": "example-model",
    }
