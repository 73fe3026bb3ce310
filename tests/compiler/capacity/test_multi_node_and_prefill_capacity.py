"""Multi-node replicas and prefill replicas in the capacity arithmetic (LLMInferenceService
backend): one data-parallel rank per node holds the whole model on that node's GPUs, each prefill
replica holds it on its own GPUs, and GPU totals count replicas x nodes x GPUs per node plus the
prefill replicas."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from compiler.capacity.endpoint import endpoint_capacity
from compiler.capacity.topology import gpus_at
from compiler.diff.changes import _capacity
from compiler.resolve.environment import ResolvedEnvironment
from tests.helpers.estate import PROJECT_ROOT, run_cli, validate

EXAMPLE = PROJECT_ROOT / "examples" / "llm_inference_service"
CHAT = "environments/prod/serving/support-chat.yaml"


def _estate(root: Path, spec: dict[str, Any], gpu_memory_gib: int = 80) -> Path:
    shutil.copytree(EXAMPLE / "environments", root / "environments")
    env = root / "environments" / "prod" / "environment.yaml"
    document: dict[str, Any] = yaml.safe_load(env.read_text(encoding="utf-8"))
    document["spec"]["gpu"]["memoryGiB"] = gpu_memory_gib
    env.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    chat = root / CHAT
    document = yaml.safe_load(chat.read_text(encoding="utf-8"))
    resources = spec.pop("gpus", None)
    if resources is not None:
        document["spec"]["deploymentSpec"]["resources"]["gpus"] = resources
    document["spec"].update(spec)
    chat.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return root


def _prod(root: Path) -> tuple[ResolvedEnvironment, Any]:
    result = validate(root)
    (env,) = [e for e in result.estate.environments if e.name == "prod"]
    (chat,) = [e for e in env.of_kind("ServingEndpoint") if e.name == "support-chat"]
    return env, chat


def _errors(root: Path, code: str) -> list[tuple[int, str]]:
    return [
        (d.span.line, d.message)
        for d in validate(root).diagnostics
        if d.code == code and d.span.file == CHAT
    ]


def test_a_multi_node_replica_holds_the_model_on_each_node(tmp_path: Path) -> None:
    env, chat = _prod(_estate(tmp_path, {"gpus": 2, "parallelism": {"nodes": 2}}))
    capacity = endpoint_capacity(env, chat)
    assert capacity is not None and capacity.gpu_weights is not None
    assert capacity.nodes == 2
    assert capacity.gpu_weights.gpus == 2  # one node's GPUs, not all four
    assert capacity.total_gpus == 2 * 2 * 2  # minReplicas 2 x 2 nodes x 2 GPUs


def test_two_nodes_of_two_gpus_are_not_four_gpus_for_the_weights(tmp_path: Path) -> None:
    """Llama 3.1 8B in bf16 (15.20 GiB) on 10 GiB GPUs (6.70 GiB usable each): four GPUs of one
    node hold it at 3.80 GiB each; two nodes of two GPUs hold it once per node, 7.60 GiB each."""
    one_node = _estate(tmp_path / "one", {"gpus": 4}, gpu_memory_gib=10)
    two_nodes = _estate(
        tmp_path / "two", {"gpus": 2, "parallelism": {"nodes": 2}}, gpu_memory_gib=10
    )
    assert _errors(one_node, "C002") == []
    ((_, message),) = _errors(two_nodes, "C002")
    assert "7.60 GiB per GPU" in message and "6.70 GiB" in message


def test_each_prefill_replica_must_hold_the_weights(tmp_path: Path) -> None:
    root = _estate(
        tmp_path,
        {"gpus": 4, "prefill": {"minReplicas": 1, "gpus": 1}},
        gpu_memory_gib=10,
    )
    (found,) = _errors(root, "C002")
    line, message = found
    text = (root / CHAT).read_text(encoding="utf-8").splitlines()
    assert text[line - 1].strip() == "gpus: 1"  # spec.prefill.gpus
    assert message.startswith("each prefill replica holds the whole model")
    assert "15.20 GiB per GPU" in message and "6.70 GiB" in message


def test_a_prefill_on_the_endpoint_s_gpus_is_reported_once(tmp_path: Path) -> None:
    """prefill.gpus defaults to the endpoint's: C002 on the endpoint says it for both."""
    root = _estate(tmp_path, {"gpus": 1, "prefill": {"minReplicas": 1}}, gpu_memory_gib=10)
    assert len(_errors(root, "C002")) == 1


def test_gpu_totals_count_nodes_and_prefill_replicas(tmp_path: Path) -> None:
    root = _estate(
        tmp_path,
        {
            "gpus": 2,
            "parallelism": {"nodes": 2},
            "prefill": {"minReplicas": 3, "maxReplicas": 5, "gpus": 1},
        },
    )
    env, chat = _prod(root)
    assert gpus_at(chat.spec) == 2 * 2 * 2 + 3 * 1
    assert gpus_at(chat.spec, at_max=True) == 4 * 2 * 2 + 5 * 1
    _, gpus, _ = _capacity(env)
    search_gpus = 2  # the prod search InferenceService: 2 replicas x 1 GPU
    assert gpus == (11 + search_gpus, 21 + search_gpus)


def test_explain_shows_nodes_and_prefill_with_their_sources(tmp_path: Path) -> None:
    root = _estate(
        tmp_path,
        {"gpus": 2, "parallelism": {"nodes": 2}, "prefill": {"minReplicas": 3, "gpus": 1}},
    )
    text = run_cli("explain", "support-chat", "--env", "prod", str(root))
    assert text.exit_code == 0, text.stdout + text.stderr
    rows = {
        line[:28].strip(): line[28:].split()
        for line in text.stdout.splitlines()
        if line[:2] == "  "
    }
    assert rows["nodes per replica"][:2] == ["2", f"{CHAT}:19"]
    assert rows["prefill GPUs per replica"][:2] == ["1", f"{CHAT}:22"]
    assert rows["prefill minReplicas"][:2] == ["3", f"{CHAT}:21"]
    assert rows["GPUs at minReplicas"][0] == "11"
    assert (
        "2 replicas x 2 nodes x 2 GPUs + 3 prefill replicas x 1 node x 1 GPUs = 11 at minReplicas"
        in text.stdout
    )
    assert "prefill weights     15.20 GiB = 15.20 GiB per GPU of 69.70 GiB usable (fits)" in (
        text.stdout
    )
    data = run_cli("explain", "support-chat", "--env", "prod", "--format", "json", str(root))
    explanation = json.loads(data.stdout)
    inputs = {row["name"]: row for row in explanation["inputs"]}
    assert inputs["nodes per replica"]["value"] == 2
    assert inputs["nodes per replica"]["source"]["field"] == "spec.parallelism.nodes"
    assert inputs["prefill GPUs per replica"]["source"]["field"] == "spec.prefill.gpus"
    assert explanation["results"]["gpus_at_min_replicas"] == 11
    assert explanation["results"]["prefill_weights_bytes_per_gpu"] == 8e9 * 2 * 1.02


def test_each_prefill_replica_must_hold_one_sequence(tmp_path: Path) -> None:
    """Llama 3.1 8B's whole 131,072-token context (16 GiB of KV cache) on the prefill's one
    24 GiB GPU: 15.20 GiB of weights leave 4.10 GiB, 33,593 tokens; the endpoint's four
    GPUs hold it."""
    root = _estate(
        tmp_path,
        {"gpus": 4, "prefill": {"gpus": 1}},
        gpu_memory_gib=24,
    )
    chat = root / CHAT
    document = yaml.safe_load(chat.read_text(encoding="utf-8"))
    del document["spec"]["deploymentSpec"]["runtime"]  # the model's whole context
    chat.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    assert _errors(root, "C002") == []
    ((line, message),) = _errors(root, "C003")
    assert (root / CHAT).read_text(encoding="utf-8").splitlines()[line - 1].strip() == "gpus: 1"
    assert message.startswith("one sequence of 131,072 tokens needs 16.00 GiB of KV cache")
    assert "a prefill replica on 1 x 24 GiB GPU has room for 33,593 tokens" in message
