"""E011 on multi-node replicas (`parallelism.nodes`) and prefill/decode disaggregation (`prefill`):
each refusal is reported at the file, line and column of the field that asks for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers.estate import validate
from tests.helpers.llm_inference_service_estate import (
    DEV_CHAT,
    PROD_CHAT,
    PROD_ENV,
    PROD_SEARCH,
    Edit,
    edited_example,
    on_cpu,
    spec_values,
)


def _both(*changes: Edit) -> Edit:
    def change(document: dict[str, Any]) -> None:
        for each in changes:
            each(document)

    return change


def _kserve_020(document: dict[str, Any]) -> None:
    document["spec"]["kserve"]["version"] = "0.20"


def _place(root: Path, relative: str, key_path: list[str]) -> tuple[int, int]:
    """Line and column of the value of the last key of ``key_path`` in the written file (each key
    searched after the previous one): a scalar after its key, a mapping at its first key."""
    lines = (root / relative).read_text(encoding="utf-8").splitlines()
    start = 0
    number = -1
    for key in key_path:
        number = next(
            n for n in range(start, len(lines)) if lines[n].lstrip(" ").startswith(f"{key}:")
        )
        start = number + 1
    text = lines[number]
    after = text.index(":") + 1
    value = text[after:].lstrip(" ")
    if value:
        return number + 1, len(text) - len(value) + 1
    child = lines[number + 1]
    return number + 2, len(child) - len(child.lstrip(" ")) + 1


CASES: dict[str, tuple[str, list[tuple[str, Edit]], list[str], str]] = {
    "nodes on an InferenceService": (
        PROD_SEARCH,
        [(PROD_SEARCH, spec_values(parallelism={"nodes": 2}))],
        ["spec", "parallelism", "nodes"],
        "which has no multi-node workers",
    ),
    "prefill on an InferenceService": (
        PROD_SEARCH,
        [(PROD_SEARCH, spec_values(prefill={"minReplicas": 1}))],
        ["spec", "prefill"],
        "which has no prefill/decode disaggregation",
    ),
    "nodes without GPUs": (
        DEV_CHAT,
        [
            (DEV_CHAT, _both(on_cpu, spec_values(parallelism={"nodes": 2}))),
            (
                "environments/dev/environment.yaml",
                lambda d: d["spec"]["kserve"].update(
                    llmInferenceService={"image": "example.com/vllm-cpu:1"}
                ),
            ),
        ],
        ["spec", "parallelism", "nodes"],
        "this one has none",
    ),
    "several ranks per node over nodes": (
        PROD_CHAT,
        [(PROD_CHAT, spec_values(parallelism={"nodes": 2, "data": 2}))],
        ["spec", "parallelism", "data"],
        "which the vLLM arguments llmops writes cannot compute",
    ),
    "prefill without GPUs": (
        DEV_CHAT,
        [
            (DEV_CHAT, _both(on_cpu, spec_values(prefill={"minReplicas": 1}))),
            (
                "environments/dev/environment.yaml",
                lambda d: d["spec"]["kserve"].update(
                    llmInferenceService={"image": "example.com/vllm-cpu:1"}
                ),
            ),
        ],
        ["spec", "prefill"],
        "have no GPUs",
    ),
    "prefill replicas the wrong way round": (
        PROD_CHAT,
        [(PROD_CHAT, spec_values(prefill={"minReplicas": 3, "maxReplicas": 2}))],
        ["spec", "prefill", "minReplicas"],
        "prefill minReplicas 3 is above maxReplicas 2",
    ),
    "uneven prefill ranks": (
        PROD_CHAT,
        [(PROD_CHAT, spec_values(prefill={"gpus": 3, "parallelism": {"data": 2}}))],
        ["spec", "prefill", "parallelism", "data"],
        "2 data-parallel ranks cannot share 3 GPU(s) evenly",
    ),
    "a CPU canary of a multi-node endpoint": (
        PROD_CHAT,
        [
            (PROD_ENV, _kserve_020),
            (
                PROD_CHAT,
                spec_values(
                    parallelism={"nodes": 2},
                    canary={
                        "model": "support-base@3.1",
                        "weight": 10,
                        "deploymentSpec": {"resources": {"gpus": 0, "cpu": "8"}},
                    },
                ),
            ),
        ],
        ["spec", "canary", "deploymentSpec", "resources", "gpus"],
        "the canary keeps the endpoint's several nodes per replica",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_refusal_is_reported_at_its_field(name: str, tmp_path: Path) -> None:
    file, edits, key_path, message = CASES[name]
    root = edited_example(tmp_path, edits)
    found = [
        (d.span.file, d.span.line, d.span.column, d.message, d.hint)
        for d in validate(root).diagnostics
        if d.code == "E011"
    ]
    assert len(found) == 1, found
    (where, line, column, text, hint) = found[0]
    assert (where, line, column) == (file, *_place(root, file, key_path))
    assert message in text
    assert hint


def test_multi_node_and_prefill_as_written_are_clean(tmp_path: Path) -> None:
    root = edited_example(
        tmp_path,
        [(PROD_CHAT, spec_values(parallelism={"nodes": 2}, prefill={"minReplicas": 1, "gpus": 1}))],
    )
    errors = [d for d in validate(root).diagnostics if d.severity.value == "error"]
    assert errors == []


def test_nodes_and_prefill_replicas_have_schema_bounds(tmp_path: Path) -> None:
    """Zero nodes or zero prefill replicas are schema errors at the field, not tracebacks."""
    root = edited_example(
        tmp_path,
        [(PROD_CHAT, spec_values(parallelism={"nodes": 0}, prefill={"minReplicas": 0, "gpus": 0}))],
    )
    errors = sorted(
        (d.span.line, d.span.column)
        for d in validate(root).diagnostics
        if d.severity.value == "error"
    )
    assert errors == sorted(
        [
            _place(root, PROD_CHAT, ["spec", "parallelism", "nodes"]),
            _place(root, PROD_CHAT, ["spec", "prefill", "minReplicas"]),
            _place(root, PROD_CHAT, ["spec", "prefill", "gpus"]),
        ]
    )


def test_prefill_gpus_over_the_environment_s_limit(tmp_path: Path) -> None:
    """P008 holds per prefill replica as per replica (the example's prod allows 8 per pod)."""
    root = edited_example(tmp_path, [(PROD_CHAT, spec_values(prefill={"gpus": 16}))])
    found = [
        (d.span.line, d.span.column, d.message)
        for d in validate(root).diagnostics
        if d.code == "P008"
    ]
    assert [(line, column) for line, column, _ in found] == [
        _place(root, PROD_CHAT, ["spec", "prefill", "gpus"])
    ]
    assert "16 GPUs requested per prefill replica" in found[0][2]


@pytest.mark.parametrize("where", [["parallelism"], ["prefill", "parallelism"]])
def test_several_nodes_need_a_namespace_that_admits_their_capabilities(
    tmp_path: Path, where: list[str]
) -> None:
    """KServe's multi-node presets add IPC_LOCK, SYS_RAWIO and NET_RAW to every pod; at the
    Namespace's default Pod Security `baseline` no pod would start, so it is E011 until the
    environment says `podSecurity: privileged`, whose Namespace then admits them."""
    import shutil

    import yaml

    from compiler.render.estate import render_estate
    from tests.helpers.llm_inference_service_estate import EXAMPLE

    shutil.copytree(EXAMPLE / "environments", tmp_path / "environments")
    path = tmp_path / PROD_CHAT
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    values: dict[str, Any] = {"nodes": 2}
    for key in reversed(where):
        values = {key: values}
    if where[0] == "prefill":
        values["prefill"].update(minReplicas=1, gpus=1)
    document["spec"].update(values)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    (refused,) = [d for d in validate(tmp_path).diagnostics if d.code == "E011"]
    assert "IPC_LOCK, SYS_RAWIO and NET_RAW" in refused.message
    assert refused.span.file == PROD_CHAT
    assert "podSecurity: privileged" in (refused.hint or "")

    settings = tmp_path / PROD_ENV
    environment = yaml.safe_load(settings.read_text(encoding="utf-8"))
    environment["spec"]["podSecurity"] = "privileged"
    settings.write_text(yaml.safe_dump(environment, sort_keys=False), encoding="utf-8")
    result = validate(tmp_path)
    assert [d for d in result.diagnostics if d.severity.value == "error"] == []
    (namespace,) = [
        o for o in render_estate(result.estate).groups["prod"] if o["kind"] == "Namespace"
    ]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
