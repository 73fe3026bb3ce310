"""The proxy Deployment runs the workers the environment asks for, and its resources follow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compiler.render.estate import render_estate
from tests.helpers.estate import copy_bundled_estate, validate


def _proxy_container(root: Path) -> dict[str, Any]:
    result = validate(root, "dev")
    assert [d.code for d in result.diagnostics if d.severity.value == "error"] == []
    objects = render_estate(result.estate, include_argocd=False).groups["dev"]
    deployment = next(
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "llmops-proxy"
    )
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


def test_workers_set_the_argument_and_scale_the_pod_resources(tmp_path: Path) -> None:
    root = copy_bundled_estate(tmp_path)
    one = _proxy_container(root)
    assert one["args"][-2:] == ["--workers", "1"]
    assert one["resources"] == {
        "requests": {"cpu": "250m", "memory": "256Mi"},
        "limits": {"cpu": "1", "memory": "512Mi"},
    }
    environment = root / "environments/dev/environment.yaml"
    environment.write_text(
        environment.read_text(encoding="utf-8") + "  proxy:\n    workers: 3\n", encoding="utf-8"
    )
    three = _proxy_container(root)
    assert three["args"][-2:] == ["--workers", "3"]
    assert three["resources"] == {
        "requests": {"cpu": "750m", "memory": "768Mi"},
        "limits": {"cpu": "3", "memory": "1536Mi"},
    }
