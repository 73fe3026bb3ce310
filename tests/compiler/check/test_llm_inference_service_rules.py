"""E010 and E011 on each thing the LLMInferenceService backend cannot serve, found at the field that
asks for it; the example estate itself is clean."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers.estate import PROJECT_ROOT, validate

EXAMPLE = PROJECT_ROOT / "examples" / "llm_inference_service"
DEV_ENV = "environments/dev/environment.yaml"
DEV_CHAT = "environments/dev/serving/support-chat.yaml"
PROD_SEARCH = "environments/prod/serving/support-search.yaml"
PROD_CHAT = "environments/prod/serving/support-chat.yaml"
Edit = Callable[[dict[str, Any]], None]


def _spec(**values: Any) -> Edit:
    def change(document: dict[str, Any]) -> None:
        document["spec"].update(values)

    return change


def _deployment(**values: Any) -> Edit:
    def change(document: dict[str, Any]) -> None:
        document["spec"]["deploymentSpec"].update(values)

    return change


def _cpu(document: dict[str, Any]) -> None:
    document["spec"].update(useGpu=False, adapters=[])
    document["spec"]["deploymentSpec"]["resources"] = {"gpus": 0, "cpu": "16"}


def _kserve(**values: Any) -> Edit:
    def change(document: dict[str, Any]) -> None:
        document["spec"]["kserve"].update(values)

    return change


def _findings(root: Path, edits: list[tuple[str, Edit]]) -> list[tuple[str, str, int, str]]:
    shutil.copytree(EXAMPLE / "environments", root / "environments")
    for relative, change in edits:
        path = root / relative
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(document)
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
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
            (DEV_CHAT, _spec(backend="llminferenceservice")),
        ],
        DEV_CHAT,
        "KServe 0.15 has no",
    ),
    "embeddings": (
        [(DEV_CHAT, _deployment(serve_target="EMBEDDING"))],
        DEV_CHAT,
        "serves generation",
    ),
    "CPU without an image": ([(DEV_CHAT, _cpu)], DEV_CHAT, "CUDA build"),
    "CPU utilization target": (
        [(DEV_CHAT, _spec(maxReplicas=2, autoscalePolicy={"cpuUtilization": 70}))],
        DEV_CHAT,
        "no CPU utilization target",
    ),
    "scale from zero": (
        [(DEV_CHAT, _spec(minReplicas=0, maxReplicas=2))],
        DEV_CHAT,
        "keeps at least one replica",
    ),
    "uneven data-parallel ranks": (
        [(DEV_CHAT, _spec(parallelism={"data": 2}))],
        DEV_CHAT,
        "cannot share 1 GPU(s) evenly",
    ),
    "a canary": (
        [(PROD_CHAT, _spec(canary={"model": "support-base@3.1", "weight": 10}))],
        PROD_CHAT,
        "which KServe 0.17 does not have",
    ),
    "parallelism on an InferenceService": (
        [(PROD_SEARCH, _spec(parallelism={"expert": True}))],
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
        shutil.copytree(EXAMPLE / "environments", root / "environments")
        for relative, change in edits:
            path = root / relative
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
            change(document)
            path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return sorted(d.code for d in validate(root).diagnostics if d.code in ("M007", "E011"))

    assert codes(tmp_path / "preset", [(DEV_CHAT, cpu_with_adapters)]) == ["E011", "M007"]
    assert codes(tmp_path / "image", [(DEV_CHAT, cpu_with_adapters), (DEV_ENV, _cpu_image)]) == []
