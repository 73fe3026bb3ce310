"""K010/K011: two environments may not share a namespace or an ingress host.

Dev with `namespace: llm-ops-stg` validated and rendered two different copies of the proxy's
ConfigMap, Service, Deployment, InferenceServices and Ingresses into one namespace: two Argo CD
Applications fighting over them. The same held for one ingress host served by two environments.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.estate import copy_bundled_estate, run_cli

DEV = "environments/dev/environment.yaml"
STG = "environments/stg/environment.yaml"
PROD = "environments/prod/environment.yaml"


def _edit(root: Path, file: str, old: str, new: str) -> None:
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert old in text, text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    return copy_bundled_estate(tmp_path)


def test_a_namespace_taken_from_another_environment_fails_validate_and_render(
    estate: Path,
) -> None:
    _edit(estate, DEV, "namespace: llm-ops-dev", "namespace: llm-ops-stg")
    result = run_cli("validate", str(estate))
    assert result.exit_code == 1
    assert f"{DEV}:7:14: error[K010]" in result.stdout
    assert f"{STG}:7:14: error[K010]" in result.stdout
    rendered = run_cli("render", str(estate))
    assert rendered.exit_code == 1 and rendered.stdout == ""
    assert "K010" in rendered.stderr


def test_a_default_namespace_counts_as_taken(estate: Path) -> None:
    """prod without `namespace` is in `llm-ops-prod`, which no other environment may take."""
    _edit(estate, DEV, "namespace: llm-ops-dev", "namespace: llm-ops-prod")
    text = (estate / PROD).read_text(encoding="utf-8")
    (estate / PROD).write_text(text.replace("  namespace: llm-ops-prod\n", ""), encoding="utf-8")
    result = run_cli("validate", str(estate))
    assert result.exit_code == 1
    assert result.stdout.count("error[K010]") == 2
    assert "is `prod`'s default: give `dev` its own namespace" in result.stdout


def test_one_host_in_two_environments_is_k011_unless_the_classes_differ(estate: Path) -> None:
    _edit(estate, DEV, "host: dev.llm-ops.local", "host: llm-ops.example.com")
    result = run_cli("validate", str(estate))
    assert result.exit_code == 1
    assert f"{DEV}:9:11: error[K011]" in result.stdout
    assert 'both serve host "llm-ops.example.com"' in result.stdout
    _edit(estate, DEV, "className: nginx", "className: internal")
    assert "K011" not in run_cli("validate", str(estate)).stdout


def test_distinct_places_pass(estate: Path) -> None:
    assert run_cli("validate", str(estate)).exit_code == 0


def test_the_namespace_another_environments_argo_cd_runs_in_is_k007(estate: Path) -> None:
    _edit(estate, STG, "  argocd:\n", "  argocd:\n    namespace: gitops\n")
    _edit(estate, DEV, "namespace: llm-ops-dev", "namespace: gitops")
    result = run_cli("validate", str(estate))
    assert f"{DEV}:7:14: error[K007]" in result.stdout, result.stdout
