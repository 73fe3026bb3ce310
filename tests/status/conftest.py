"""An estate (the bundled example), its rendered objects, and a Kubernetes API stand-in with a
kubeconfig."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from compiler.render.estate import render_estate
from tests.helpers import live_objects as live
from tests.helpers.estate import copy_bundled_estate, validate
from tests.helpers.kube_api import KubeApiServer

ENVS = ("dev", "prod", "stg")


class Rendered:
    """What the estate renders, by kind and environment (one object of each in the bundled
    estate)."""

    def __init__(self, root: Path) -> None:
        result = validate(root)
        assert result.error_count == 0, result.diagnostics
        self.objects = [
            obj for group in render_estate(result.estate).groups.values() for obj in group
        ]

    def one(self, kind: str, env: str) -> dict[str, Any]:
        found = [
            obj
            for obj in self.objects
            if obj["kind"] == kind
            and obj["metadata"].get("labels", {}).get("llmops.io/environment") == env
        ]
        assert len(found) == 1, (kind, env, found)
        return found[0]


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    return copy_bundled_estate(tmp_path / "estate")


@pytest.fixture
def rendered(estate: Path) -> Rendered:
    return Rendered(estate)


@pytest.fixture
def cluster() -> Iterator[KubeApiServer]:
    with KubeApiServer().running() as server:
        yield server


@pytest.fixture
def kubeconfig(cluster: KubeApiServer, tmp_path: Path) -> Path:
    return cluster.write_kubeconfig(tmp_path / "kubeconfig")


def deploy_healthy(cluster: KubeApiServer, rendered: Rendered) -> None:
    """Everything the estate renders, live and well: endpoints ready, the training job done, Argo CD
    synced."""
    for env in ENVS:
        cluster.put(live.ready_isvc(rendered.one("InferenceService", env)))
        cluster.put(live.application(rendered.one("Application", env)))
    cluster.put(live.job(rendered.one("Job", "dev"), "succeeded"))
