"""E010 and E011 on each thing the LLMInferenceService backend cannot serve, found at the field that
asks for it; the example estate itself is clean."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers.estate import validate
from tests.helpers.llm_inference_service_estate import (
    DEV_CHAT,
    DEV_ENV,
    PROD_CHAT,
    PROD_SEARCH,
    Edit,
    edited_example,
    on_cpu,
    spec_values,
)


def _deployment(**values: Any) -> Edit:
    def change(document: dict[str, Any]) -> None:
        document["spec"]["deploymentSpec"].update(values)

    return change


def _kserve(**values: Any) -> Edit:
    def change(document: dict[str, Any]) -> None:
        document["spec"]["kserve"].update(values)

    return change


def _findings(root: Path, edits: list[tuple[str, Edit]]) -> list[tuple[str, str, int, str]]:
    edited_example(root, edits)
    return [
        (d.code, d.span.file, d.span.line, d.message)
        for d in validate(root).diagnostics
        if d.code in ("E010", "E011")
    ]


CASES: dict[str, tuple[list[tuple[str, Edit]], str, str]] = {
    "KServe 0.15": ([(DEV_ENV, _kserve(version="0.15"))], DEV_ENV, "KServe 0.15 has no"),
    "an endpoint's own backend on KServe 0.15": (
        [
            (DEV_ENV, _kserve(version="0.15", backend="inferenceservice")),
            (DEV_CHAT, spec_values(backend="llminferenceservice")),
        ],
        DEV_CHAT,
        "KServe 0.15 has no",
    ),
    "embeddings": (
        [(DEV_CHAT, _deployment(serve_target="EMBEDDING"))],
        DEV_CHAT,
        "serves generation",
    ),
    "CPU without an image": ([(DEV_CHAT, on_cpu)], DEV_CHAT, "CUDA build"),
    "CPU utilization target": (
        [(DEV_CHAT, spec_values(maxReplicas=2, autoscalePolicy={"cpuUtilization": 70}))],
        DEV_CHAT,
        "no CPU utilization target",
    ),
    "scale from zero": (
        [(DEV_CHAT, spec_values(minReplicas=0, maxReplicas=2))],
        DEV_CHAT,
        "keeps at least one replica",
    ),
    "uneven data-parallel ranks": (
        [(DEV_CHAT, spec_values(parallelism={"data": 2}))],
        DEV_CHAT,
        "cannot share 1 GPU(s) evenly",
    ),
    "a canary": (
        [(PROD_CHAT, spec_values(canary={"model": "support-base@3.1", "weight": 10}))],
        PROD_CHAT,
        "which KServe 0.17 does not have",
    ),
    "parallelism on an InferenceService": (
        [(PROD_SEARCH, spec_values(parallelism={"expert": True}))],
        PROD_SEARCH,
        "no data or expert parallelism",
    ),
}


def test_the_example_is_clean(tmp_path: Path) -> None:
    assert _findings(tmp_path, []) == []


@pytest.mark.parametrize("name", list(CASES))
def test_each_case_is_reported_where_it_is_asked(name: str, tmp_path: Path) -> None:
    edits, file, message = CASES[name]
    findings = _findings(tmp_path, edits)
    assert len(findings) == 1, findings
    (code, found_in, _line, text) = findings[0]
    assert (code, found_in) == ("E010" if "KServe" in name else "E011", file)
    assert message in text


def _cpu_image(document: dict[str, Any]) -> None:
    document["spec"]["kserve"]["llmInferenceService"] = {
        "image": "public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:v0.17.1"
    }


def test_adapters_on_cpu_need_the_vllm_cpu_image(tmp_path: Path) -> None:
    """vLLM loads LoRA adapters on CPU too (KServe's own LoRA sample runs a vLLM CPU build), so an
    LLMInferenceService with that image may serve adapters without GPUs; without it, M007 and E011
    say why not."""

    def cpu_with_adapters(document: dict[str, Any]) -> None:
        document["spec"].update(useGpu=False)
        document["spec"]["deploymentSpec"]["resources"] = {"gpus": 0, "cpu": "16"}

    def codes(root: Path, edits: list[tuple[str, Edit]]) -> list[str]:
        edited_example(root, edits)
        return sorted(d.code for d in validate(root).diagnostics if d.code in ("M007", "E011"))

    assert codes(tmp_path / "preset", [(DEV_CHAT, cpu_with_adapters)]) == ["E011", "M007"]
    assert codes(tmp_path / "image", [(DEV_CHAT, cpu_with_adapters), (DEV_ENV, _cpu_image)]) == []
