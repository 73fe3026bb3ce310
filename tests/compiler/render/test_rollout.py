"""GPU endpoints roll without waiting for a GPU the cluster does not have."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler.render.estate import render_estate
from tests.helpers.estate import copy_bundled_estate, validate

NO_SURGE = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
SURGE = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}


def _edit(path: Path, change: Any) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


@pytest.mark.parametrize(
    ("spare", "gpus", "strategy"),
    [(0, 1, NO_SURGE), (1, 2, NO_SURGE), (1, 1, SURGE), (2, 2, SURGE)],
)
def test_surge_only_with_a_whole_replicas_worth_of_spare_gpus(
    tmp_path: Path, spare: int, gpus: int, strategy: dict[str, Any]
) -> None:
    root = copy_bundled_estate(tmp_path)
    _edit(
        root / "environments/prod/environment.yaml",
        lambda d: d["spec"]["gpu"].update(spareGpus=spare),
    )
    _edit(
        root / "environments/prod/serving/example-model.yaml",
        lambda d: d["spec"]["deploymentSpec"]["resources"].update(gpus=gpus),
    )
    result = validate(root, "prod")
    assert [d.code for d in result.diagnostics] == []
    (isvc,) = [
        o
        for o in render_estate(result.estate, include_argocd=False).groups["prod"]
        if o["kind"] == "InferenceService"
    ]
    assert isvc["spec"]["predictor"]["deploymentStrategy"] == strategy
