"""Every rendered LLMInferenceService passes the vendored KServe CRD's schema (strict: unknown
fields are failures), for each API version llmops renders and each branch of the renderer."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler.emit.yaml_text import emit_stream
from compiler.render.estate import render_estate
from tests.helpers.conformance import conformance_failures
from tests.helpers.estate import PROJECT_ROOT, validate
from tests.helpers.llm_inference_service_estate import admit_multi_node

EXAMPLE = PROJECT_ROOT / "examples" / "llm_inference_service"
DEV_ENV = "environments/dev/environment.yaml"
DEV_CHAT = "environments/dev/serving/support-chat.yaml"
PROD_CHAT = "environments/prod/serving/support-chat.yaml"
Edit = Callable[[dict[str, Any]], None]


def _edit(root: Path, relative: str, change: Edit) -> None:
    path = root / relative
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def _kserve(version: str) -> Edit:
    def change(document: dict[str, Any]) -> None:
        document["spec"]["kserve"]["version"] = version

    return change


def _data_and_expert_parallel(document: dict[str, Any]) -> None:
    spec = document["spec"]
    spec["deploymentSpec"]["resources"]["gpus"] = 4
    spec["parallelism"] = {"data": 2, "expert": True}


def _cpu_with_image(document: dict[str, Any]) -> None:
    spec = document["spec"]
    spec.update(useGpu=False, adapters=[], minReplicas=1, maxReplicas=3)
    spec["deploymentSpec"]["resources"] = {"gpus": 0, "cpu": "16"}


def _cpu_image_and_hpa(document: dict[str, Any]) -> None:
    document["spec"]["serviceAccountName"] = "model-storage"
    document["spec"]["kserve"]["llmInferenceService"] = {
        "image": "public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:v0.17.1",
        "autoscaler": "hpa",
    }


def _eight_gpus(document: dict[str, Any]) -> None:
    document["spec"]["deploymentSpec"]["resources"]["gpus"] = 8


def _multi_node(document: dict[str, Any]) -> None:
    document["spec"]["parallelism"] = {"nodes": 2, "expert": True}


def _prefill_decode(document: dict[str, Any]) -> None:
    document["spec"]["prefill"] = {"minReplicas": 2, "maxReplicas": 2, "gpus": 1}


def _multi_node_prefill_decode(document: dict[str, Any]) -> None:
    document["spec"]["parallelism"] = {"nodes": 2}
    document["spec"]["prefill"] = {
        "minReplicas": 1,
        "maxReplicas": 3,
        "parallelism": {"nodes": 2, "expert": True},
    }


VARIANTS: dict[str, list[tuple[str, Edit]]] = {
    "example": [],
    "data-and-expert-parallel": [(PROD_CHAT, _data_and_expert_parallel)],
    "cpu-image-hpa": [(DEV_CHAT, _cpu_with_image), (DEV_ENV, _cpu_image_and_hpa)],
    "eight-gpus-with-adapters": [(DEV_CHAT, _eight_gpus)],
    "multi-node": [(PROD_CHAT, _multi_node), (DEV_CHAT, _multi_node)],
    "prefill-decode": [(PROD_CHAT, _prefill_decode), (DEV_CHAT, _prefill_decode)],
    "multi-node-prefill-decode": [
        (PROD_CHAT, _multi_node_prefill_decode),
        (DEV_CHAT, _multi_node_prefill_decode),
    ],
}
VERSIONS = ("0.16", "0.17", "0.20")


def _render(root: Path) -> list[dict[str, Any]]:
    result = validate(admit_multi_node(root))
    errors = [
        f"{d.span.file}:{d.span.line}: {d.code} {d.message}"
        for d in result.diagnostics
        if d.severity.value == "error"
    ]
    assert errors == []
    groups = render_estate(result.estate).groups
    return [obj for objects in groups.values() for obj in objects]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_rendered_llm_inference_services_conform(
    variant: str, version: str, tmp_path: Path
) -> None:
    root = tmp_path / "estate"
    shutil.copytree(EXAMPLE / "environments", root / "environments")
    for env_file in (DEV_ENV, "environments/prod/environment.yaml"):
        _edit(root, env_file, _kserve(version))
    for relative, change in VARIANTS[variant]:
        _edit(root, relative, change)
    objects = _render(root)
    services = [obj for obj in objects if obj["kind"] == "LLMInferenceService"]
    assert len(services) == 2
    expected = "v1alpha1" if version == "0.16" else "v1alpha2"
    assert {obj["apiVersion"] for obj in services} == {f"serving.kserve.io/{expected}"}
    assert conformance_failures(emit_stream(objects)) == []


CANARY_EXAMPLE = PROJECT_ROOT / "examples" / "llm_inference_service_canary"
CANARY_ENDPOINT = "environments/prod/serving/example-model.yaml"


def _canary(weight: int, own_resources: bool) -> Edit:
    def change(document: dict[str, Any]) -> None:
        canary = document["spec"]["canary"]
        canary["weight"] = weight
        if own_resources:
            canary["deploymentSpec"] = {"resources": {"gpus": 2, "cpu": "16", "memory": "64Gi"}}

    return change


@pytest.mark.parametrize("version", ("0.20", "v0.20.1"))
@pytest.mark.parametrize(("weight", "own_resources"), [(0, False), (10, True), (100, False)])
def test_rendered_canaries_conform(
    weight: int, own_resources: bool, version: str, tmp_path: Path
) -> None:
    """Both members of a canary's route group (`router.route.group` and `weight`) pass the CRD."""
    root = tmp_path / "estate"
    shutil.copytree(CANARY_EXAMPLE / "environments", root / "environments")
    _edit(root, "environments/prod/environment.yaml", _kserve(version))
    _edit(root, CANARY_ENDPOINT, _canary(weight, own_resources))
    objects = _render(root)
    services = [obj for obj in objects if obj["kind"] == "LLMInferenceService"]
    assert sorted(s["spec"]["router"]["route"]["weight"] for s in services) == sorted(
        [weight, 100 - weight]
    )
    assert conformance_failures(emit_stream(objects)) == []


def test_the_variants_reach_their_branches(tmp_path: Path) -> None:
    """The matrix renders what its names say (a variant that silently rendered the example would
    prove nothing)."""
    root = tmp_path / "estate"
    shutil.copytree(EXAMPLE / "environments", root / "environments")
    for relative, change in [*VARIANTS["data-and-expert-parallel"], *VARIANTS["cpu-image-hpa"]]:
        _edit(root, relative, change)
    by_env = {
        obj["metadata"]["namespace"]: obj["spec"]
        for obj in _render(root)
        if obj["kind"] == "LLMInferenceService"
    }
    prod, dev = by_env["llm-ops-prod"], by_env["llm-ops-dev"]
    assert prod["parallelism"] == {"tensor": 2, "data": 2, "dataLocal": 2, "expert": True}
    assert {"--data-parallel-size=2", "--enable-expert-parallel"} <= set(
        prod["template"]["containers"][0]["args"]
    )
    assert "parallelism" not in dev
    assert dev["template"]["containers"][0]["image"].startswith("public.ecr.aws/")
    assert "nvidia.com/gpu" not in dev["template"]["containers"][0]["resources"]["limits"]
    assert dev["scaling"]["wva"] == {"hpa": {}}
    assert dev["template"]["serviceAccountName"] == "model-storage"


def test_the_multi_node_and_prefill_variants_reach_their_branches(tmp_path: Path) -> None:
    root = tmp_path / "estate"
    shutil.copytree(EXAMPLE / "environments", root / "environments")
    for relative, change in VARIANTS["multi-node-prefill-decode"]:
        _edit(root, relative, change)
    for service in [obj for obj in _render(root) if obj["kind"] == "LLMInferenceService"]:
        spec = service["spec"]
        assert spec["worker"]["containers"][0]["name"] == "main"
        assert spec["prefill"]["scaling"]["maxReplicas"] == 3
        assert spec["prefill"]["worker"]["containers"][0]["name"] == "main"
        assert spec["prefill"]["parallelism"]["expert"] is True


@pytest.mark.parametrize("version", ("0.20", "v0.20.1"))
def test_canaries_with_nodes_and_prefill_conform(version: str, tmp_path: Path) -> None:
    root = tmp_path / "estate"
    shutil.copytree(CANARY_EXAMPLE / "environments", root / "environments")
    _edit(root, "environments/prod/environment.yaml", _kserve(version))
    _edit(root, CANARY_ENDPOINT, _multi_node_prefill_decode)
    objects = _render(root)
    services = [obj for obj in objects if obj["kind"] == "LLMInferenceService"]
    assert len(services) == 2 and all("prefill" in s["spec"] for s in services)
    assert conformance_failures(emit_stream(objects)) == []


def test_a_field_the_crd_does_not_know_fails(tmp_path: Path) -> None:
    """The check is strict: an unknown field in an LLMInferenceService is reported."""
    root = tmp_path / "estate"
    shutil.copytree(EXAMPLE / "environments", root / "environments")
    objects = _render(root)
    service = next(obj for obj in objects if obj["kind"] == "LLMInferenceService")
    service["spec"]["router"]["scheduler"]["replicaCount"] = 2
    failures = conformance_failures(emit_stream([service]))
    assert failures and "replicaCount" in " ".join(failures)
