"""The original platform's read routes of the catalog, as a client in the cluster reaches them:
through the rendered Ingress (which must route each path to the proxy) to a proxy configured from
the rendered ConfigMap's proxy.json, on the exact paths of the original platform, single items by
id, and an unknown id a 404 in the envelope."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from llmops.proxy.config import parse_config
from llmops.proxy.options import ProxyOptions
from llmops.proxy.server import running_proxy
from tests.helpers.estate import copy_bundled_estate, run_cli
from tests.helpers.loopback import call

API = "/llm-ops/v1"
HEADERS = {"X-User-Id": "admin", "X-User-Roles": "admin,llm-ops-user"}
# the original platform's read routes (complete-workflow-guide.ko.md, serving-examples.ko.md), with
# the ids the bundled estate's manifests give: `name-version` as the original platform's model_ref
# and dataset_ref write it
READS = [
    "/health",
    "/catalog/models",
    "/catalog/models/example-base-model-1.0",
    "/catalog/models/example-base-model@1.0",
    "/catalog/datasets",
    "/catalog/datasets/customer-support-dataset-v1.0",
    "/training/jobs",
    "/training/jobs/customer-support-sft",
    "/serving/endpoints",
    "/serving/endpoints/example-model",
    "/prompts/experiments",
    "/prompts/experiments/support-tone",
]
UNKNOWN = [
    "/catalog/models/example-base-model-9.9",
    "/catalog/datasets/no-such-dataset",
    "/training/jobs/no-such-job",
    "/serving/endpoints/no-such-endpoint",
    "/prompts/experiments/no-such-experiment",
]


def _rendered(tmp_path: Path) -> tuple[list[str], dict[str, object]]:
    """dev's proxy Ingress paths (to the proxy Service) and its proxy.json, as rendered."""
    root = copy_bundled_estate(tmp_path / "estate")
    out = tmp_path / "out"
    result = run_cli("render", "--env", "dev", "-o", str(out), str(root))
    assert result.exit_code == 0, result.stderr
    ingress = yaml.safe_load(
        (out / "dev/networking.k8s.io_v1_ingress_llmops-proxy.yaml").read_text()
    )
    paths = [
        path["path"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
        if path["pathType"] == "Prefix" and path["backend"]["service"]["name"] == "llmops-proxy"
    ]
    configmap = yaml.safe_load((out / "dev/v1_configmap_llmops-proxy-config.yaml").read_text())
    return paths, json.loads(configmap["data"]["proxy.json"])


def _routed(path: str, prefixes: list[str]) -> bool:
    """Kubernetes' Prefix match: element by element along `/`."""
    elements = path.split("?")[0].strip("/").split("/")
    return any(
        elements[: len(p.strip("/").split("/"))] == p.strip("/").split("/") for p in prefixes
    )


@pytest.fixture
def rendered(tmp_path: Path) -> Iterator[tuple[list[str], str]]:
    paths, document = _rendered(tmp_path)
    with running_proxy(parse_config(document, "proxy.json"), ProxyOptions()) as url:
        yield paths, url


def test_every_original_platform_read_route_is_routed_to_the_proxy_and_answered(
    rendered: tuple[list[str], str],
) -> None:
    prefixes, url = rendered
    unrouted = [path for path in READS + UNKNOWN if not _routed(API + path, prefixes)]
    assert unrouted == [], f"the Ingress does not send these to the proxy: {unrouted}"
    for path in READS:
        reply = call("GET", url + API + path, headers=HEADERS)
        assert reply.status == 200, (path, reply.body)
        assert reply.json()["status"] == "success", path


def test_an_unknown_id_is_a_404_in_the_envelope_naming_the_ids_there_are(
    rendered: tuple[list[str], str],
) -> None:
    _, url = rendered
    for path in UNKNOWN:
        reply = call("GET", url + API + path, headers=HEADERS)
        assert reply.status == 404, (path, reply.body)
        document = reply.json()
        assert (document["status"], document["data"]) == ("error", None), path
    missing = call("GET", f"{url}{API}/catalog/models/example-base-model", headers=HEADERS)
    assert missing.json()["message"] == (
        "no model 'example-base-model' in dev; its models: example-base-model@1.0 "
        "(by id, or as name-version: example-base-model-1.0)"
    )
    for path, message in [
        ("/serving/endpoints/exmaple-model", "its endpoints: example-model"),
        ("/prompts/experiments/tone", "its experiments: support-tone"),
    ]:
        reply = call("GET", url + API + path, headers=HEADERS)
        assert reply.status == 404 and reply.json()["message"].endswith(message), path
