"""The LLMInferenceService example estate (examples/llm_inference_service), copied and edited a
document at a time: the rule tests of that backend each ask for one thing it may refuse."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.helpers.estate import PROJECT_ROOT

EXAMPLE = PROJECT_ROOT / "examples" / "llm_inference_service"
DEV_ENV = "environments/dev/environment.yaml"
PROD_ENV = "environments/prod/environment.yaml"
DEV_CHAT = "environments/dev/serving/support-chat.yaml"
PROD_CHAT = "environments/prod/serving/support-chat.yaml"
PROD_SEARCH = "environments/prod/serving/support-search.yaml"
Edit = Callable[[dict[str, Any]], None]


def spec_values(**values: Any) -> Edit:
    """Set these fields of a manifest's spec."""

    def change(document: dict[str, Any]) -> None:
        document["spec"].update(values)

    return change


def on_cpu(document: dict[str, Any]) -> None:
    """An endpoint without GPUs (and so without adapters)."""
    document["spec"].update(useGpu=False, adapters=[])
    document["spec"]["deploymentSpec"]["resources"] = {"gpus": 0, "cpu": "16"}


def edited_example(root: Path, edits: list[tuple[str, Edit]]) -> Path:
    """The example's environments under ``root``, each (file, edit) applied to that file; an
    environment with a replica over several nodes admits their pods (`admit_multi_node`)."""
    shutil.copytree(EXAMPLE / "environments", root / "environments")
    for relative, change in edits:
        path = root / relative
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(document)
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return admit_multi_node(root)


def _spans_nodes(spec: Any) -> bool:
    if not isinstance(spec, dict):
        return False
    for holder in (spec, spec.get("prefill"), (spec.get("canary") or {}).get("prefill")):
        parallelism = holder.get("parallelism") if isinstance(holder, dict) else None
        if isinstance(parallelism, dict) and (parallelism.get("nodes") or 1) > 1:
            return True
    return False


def admit_multi_node(root: Path) -> Path:
    """`podSecurity: privileged` in each environment of ``root`` whose endpoints span several
    nodes: KServe's multi-node presets add capabilities Pod Security `baseline` refuses (E011)."""
    for settings in sorted((root / "environments").glob("*/environment.yaml")):
        serving = settings.parent / "serving"
        if not any(
            _spans_nodes((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("spec"))
            for path in sorted(serving.glob("*.yaml"))
        ):
            continue
        document = yaml.safe_load(settings.read_text(encoding="utf-8"))
        document["spec"]["podSecurity"] = "privileged"
        settings.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return root
