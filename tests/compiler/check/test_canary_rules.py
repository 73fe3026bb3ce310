"""A canary's model is checked like the endpoint's: approved here (P001), staged first (P012), and
existing (R001); its InferenceService's replicas follow its weight."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from compiler.capacity.canary import canary_replicas
from tests.helpers.estate import PROJECT_ROOT, run_cli

EXAMPLE = PROJECT_ROOT / "examples" / "canary"
PROD_ENDPOINT = "environments/prod/serving/example-model.yaml"


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLE / "environments", tmp_path / "environments")
    return tmp_path


def _edit(root: Path, file: str, old: str, new: str) -> None:
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert old in text, text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_canary_example_validates(estate: Path) -> None:
    result = run_cli("validate", str(estate))
    assert (result.exit_code, result.stdout.splitlines()[0]) == (
        0,
        "no problems (12 files, environments: prod, stg)",
    )


def test_a_canary_version_without_its_approvals_is_p001_at_the_canary_model(
    estate: Path,
) -> None:
    (estate / "environments/prod/approvals/example-base-model-1-1-bob.yaml").unlink()
    result = run_cli("validate", str(estate), "--env", "prod")
    assert result.exit_code == 1
    assert (
        f"{PROD_ENDPOINT}:24:12: error[P001]: Model/example-base-model@1.1 is not approved for "
        "environment `prod`: 1 of 2 required approvals (alice)"
    ) in result.stdout
    assert "llmops approve example-base-model@1.1 --env prod" in result.stdout


def test_a_canary_version_staging_neither_serves_nor_approves_is_p012(estate: Path) -> None:
    _edit(
        estate,
        "environments/stg/serving/example-model.yaml",
        "modelId: example-base-model@1.1",
        "modelId: example-base-model@1.0",
    )
    (estate / "environments/stg/approvals/example-base-model-1-1-admin.yaml").unlink()
    result = run_cli("validate", str(estate))
    assert result.exit_code == 1
    assert (
        f"{PROD_ENDPOINT}:24:12: error[P012]: prod may only serve what went through stg; stg "
        "neither serves nor approves example-base-model@1.1"
    ) in result.stdout


def test_a_canary_version_that_does_not_exist_is_r001(estate: Path) -> None:
    _edit(estate, PROD_ENDPOINT, "model: example-base-model@1.1", "model: example-base-model@1.2")
    result = run_cli("validate", str(estate), "--env", "prod")
    assert result.exit_code == 1
    assert (
        f"{PROD_ENDPOINT}:24:12: error[R001]: model `example-base-model@1.2` does not exist"
    ) in result.stdout


@pytest.mark.parametrize(
    ("replicas", "weight", "expected"),
    [(2, 0, 1), (2, 10, 1), (6, 10, 1), (6, 50, 3), (5, 50, 3), (6, 100, 6), (0, 50, 1)],
)
def test_canary_replicas_follow_the_weight_and_are_at_least_one(
    replicas: int, weight: int, expected: int
) -> None:
    assert canary_replicas(replicas, weight) == expected
