"""The benchmark's synthetic estate must be a clean estate, or the timings measure error
reporting."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from benchmarks.generate_estate import generate_estate
from tests.helpers.estate import run_cli, validate

ENDPOINTS = 20


def test_generated_estate_validates_clean_with_expected_counts(tmp_path: Path) -> None:
    counts = generate_estate(tmp_path, ENDPOINTS)
    cli = run_cli("validate", str(tmp_path))
    assert cli.exit_code == 0, cli.stdout
    assert "no problems" in cli.stdout

    result = validate(tmp_path)
    assert result.diagnostics == []
    assert [env.name for env in result.estate.environments] == ["dev", "prod", "stg"]
    approvers = {"dev": 1, "stg": 1, "prod": 2}
    for env in result.estate.environments:
        kinds = Counter(manifest.kind for manifest in env.manifests)
        assert kinds == {
            "Environment": 1,
            "Model": ENDPOINTS,
            "Dataset": ENDPOINTS,
            "TrainingJob": ENDPOINTS,
            "ServingEndpoint": ENDPOINTS,
            "Approval": ENDPOINTS * approvers[env.name],
        }, env.name
    assert counts.approvals == ENDPOINTS * sum(approvers.values())
    assert counts.manifest_files == len(result.loaded.files)
    # spread over several files per environment
    assert len(result.loaded.files) > 3 * ENDPOINTS // 10


def test_one_environment_without_training_jobs(tmp_path: Path) -> None:
    counts = generate_estate(tmp_path, 7, environments=("prod",), training_jobs=False)
    result = validate(tmp_path, "prod")
    assert result.diagnostics == []
    kinds = Counter(manifest.kind for manifest in result.estate.environments[0].manifests)
    assert kinds["ServingEndpoint"] == 7 and kinds["Approval"] == 14 and "TrainingJob" not in kinds
    assert counts.training_jobs == 0


def test_unknown_environment_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="qa"):
        generate_estate(tmp_path, 1, environments=("qa",))
