"""What a multi-node replica (`parallelism.nodes`) and a prefill/decode split (`prefill`) render on
an LLMInferenceService: the worker pods, the prefill's size, parallelism and pods, the vLLM flags
that wire them, and the canary's copy of both."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from compiler.emit.yaml_text import emit_stream
from compiler.render.estate import render_estate
from tests.helpers.estate import PROJECT_ROOT, validate
from tests.helpers.llm_inference_service_estate import admit_multi_node

EXAMPLE = PROJECT_ROOT / "examples" / "llm_inference_service"
CANARY_EXAMPLE = PROJECT_ROOT / "examples" / "llm_inference_service_canary"
CHAT = "environments/prod/serving/support-chat.yaml"
KV_TRANSFER = '--kv-transfer-config={"kv_connector":"NixlConnector","kv_role":"kv_both"}'


def _render(root: Path, example: Path, relative: str, spec: dict[str, Any]) -> list[Any]:
    shutil.copytree(example / "environments", root / "environments")
    path = root / relative
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["spec"].update(spec)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    result = validate(admit_multi_node(root))
    assert [d.code for d in result.diagnostics if d.severity.value == "error"] == []
    return [obj for objects in render_estate(result.estate).groups.values() for obj in objects]


def _service(objects: list[Any], name: str = "support-chat") -> dict[str, Any]:
    (found,) = [
        o
        for o in objects
        if o["kind"] == "LLMInferenceService"
        and o["metadata"]["name"] == name
        and o["metadata"]["namespace"] == "llm-ops-prod"
    ]
    return found


def test_a_multi_node_replica_renders_a_data_parallel_worker(tmp_path: Path) -> None:
    spec = _service(_render(tmp_path, EXAMPLE, CHAT, {"parallelism": {"nodes": 3}}))["spec"]
    assert spec["parallelism"] == {"tensor": 2, "data": 3, "dataLocal": 1}
    leader, worker = spec["template"]["containers"][0], spec["worker"]["containers"][0]
    wiring = [
        "--data-parallel-size=3",
        "--data-parallel-size-local=1",
        "--data-parallel-address=$(LWS_LEADER_ADDRESS)",
        "--data-parallel-rpc-port=5555",
    ]
    assert set(wiring) <= set(leader["args"]) and set(wiring) <= set(worker["args"])
    assert "--data-parallel-start-rank=0" in leader["args"]
    assert "--data-parallel-start-rank=$(LWS_WORKER_INDEX)" in worker["args"]
    assert "--headless" in worker["args"] and "--headless" not in leader["args"]
    assert "readinessProbe" in leader and "readinessProbe" not in worker  # nothing to probe
    assert worker["resources"] == leader["resources"]  # each node's GPUs
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert spec["worker"]["nodeSelector"] == spec["template"]["nodeSelector"]
    assert "prefill" not in spec


def test_one_node_renders_no_worker(tmp_path: Path) -> None:
    spec = _service(_render(tmp_path, EXAMPLE, CHAT, {"parallelism": {"nodes": 1}}))["spec"]
    assert "worker" not in spec
    assert not any(
        a.startswith("--data-parallel") for a in spec["template"]["containers"][0]["args"]
    )


def test_prefill_renders_its_own_size_gpus_and_kv_transfer(tmp_path: Path) -> None:
    objects = _render(
        tmp_path,
        EXAMPLE,
        CHAT,
        {"prefill": {"minReplicas": 2, "maxReplicas": 2, "gpus": 1, "parallelism": {"data": 1}}},
    )
    spec = _service(objects)["spec"]
    decode = spec["template"]["containers"][0]
    prefill = spec["prefill"]
    assert prefill["replicas"] == 2 and "scaling" not in prefill
    assert prefill["parallelism"] == {"tensor": 1}
    (container,) = prefill["template"]["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert decode["resources"]["limits"]["nvidia.com/gpu"] == "2"
    # the decode preset's routing sidecar listens on 8000 and forwards to vLLM on 8001
    assert "--port=8001" in decode["args"] and "--port=8000" in container["args"]
    assert decode["readinessProbe"]["httpGet"]["port"] == 8001
    assert container["readinessProbe"]["httpGet"]["port"] == 8000
    assert KV_TRANSFER in decode["args"] and KV_TRANSFER in container["args"]
    for each in (decode, container):
        assert each["env"] == [
            {
                "name": "VLLM_NIXL_SIDE_CHANNEL_HOST",
                "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}},
            }
        ]
    assert "--served-model-name=support-chat" in container["args"]


def test_a_scaling_prefill_uses_the_environment_s_autoscaler(tmp_path: Path) -> None:
    spec = _service(
        _render(tmp_path, EXAMPLE, CHAT, {"prefill": {"minReplicas": 1, "maxReplicas": 3}})
    )["spec"]
    assert spec["prefill"]["scaling"] == {"minReplicas": 1, "maxReplicas": 3, "wva": {"keda": {}}}
    assert "replicas" not in spec["prefill"]


def test_a_multi_node_prefill_renders_its_worker(tmp_path: Path) -> None:
    spec = _service(_render(tmp_path, EXAMPLE, CHAT, {"prefill": {"parallelism": {"nodes": 2}}}))[
        "spec"
    ]
    prefill = spec["prefill"]
    assert prefill["parallelism"] == {"tensor": 2, "data": 2, "dataLocal": 1}
    assert "--headless" in prefill["worker"]["containers"][0]["args"]
    assert "worker" not in spec  # the decode replicas stay on one node


def test_without_either_nothing_changes(tmp_path: Path) -> None:
    spec = _service(_render(tmp_path, EXAMPLE, CHAT, {}))["spec"]
    assert "worker" not in spec and "prefill" not in spec
    assert "env" not in spec["template"]["containers"][0]


def test_the_canary_keeps_nodes_and_prefill(tmp_path: Path) -> None:
    """The canary's LLMInferenceService is the endpoint's, for its model: it spans the same nodes
    and runs its own prefill replicas, which follow its weight like its decode replicas."""
    objects = _render(
        tmp_path,
        CANARY_EXAMPLE,
        "environments/prod/serving/example-model.yaml",
        {"parallelism": {"nodes": 2}, "prefill": {"minReplicas": 4, "maxReplicas": 4}},
    )
    services = {
        o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "LLMInferenceService"
    }
    canary = services["example-model-canary"]
    assert "worker" in canary and canary["parallelism"]["data"] == 2
    weight = int(
        next(o for o in objects if o["metadata"]["name"] == "example-model-canary")["metadata"][
            "annotations"
        ]["llmops.io/canary-weight"]
    )
    assert canary["prefill"]["replicas"] == max(1, -(-4 * weight // 100))
    assert services["example-model"]["prefill"]["replicas"] == 4


def test_rendering_is_deterministic(tmp_path: Path) -> None:
    spec = {"parallelism": {"nodes": 2}, "prefill": {"minReplicas": 1, "maxReplicas": 2}}
    first = emit_stream(_render(tmp_path / "a", EXAMPLE, CHAT, dict(spec)))
    second = emit_stream(_render(tmp_path / "b", EXAMPLE, CHAT, dict(spec)))
    assert first == second
