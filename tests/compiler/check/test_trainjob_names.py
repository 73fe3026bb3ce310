"""With `training.backend: trainjob`, Kubeflow Trainer runs each TrainJob as a JobSet of its name,
whose pods are `<job>-<8 hex>-node-0-0-<5 random>`: JobSet refuses the JobSet unless that is a
DNS-1035 label. K002 holds a training job's name to it (39 characters, a letter first); a batch/v1
Job's names allow 54."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.estate import copy_bundled_estate, validate

JOB = "environments/dev/training/customer-support-sft.yaml"


def _k002(tmp_path: Path, name: str, backend: str) -> list[str]:
    root = copy_bundled_estate(tmp_path)
    settings = root / "environments/dev/environment.yaml"
    text = settings.read_text()
    assert "\n  kserve:\n" in text
    settings.write_text(
        text.replace("\n  kserve:\n", f"\n  training:\n    backend: {backend}\n  kserve:\n")
    )
    job = root / JOB
    job.write_text(job.read_text().replace("name: customer-support-sft\n", f"name: {name}\n"))
    result = validate(root, "dev")
    return [d.message for d in result.diagnostics if d.code == "K002"]


@pytest.mark.parametrize(
    ("name", "backend", "refused"),
    [
        ("a" * 39, "trainjob", None),
        ("a" * 40, "trainjob", "would be 64 characters"),
        ("1st-run", "trainjob", "starts with a digit"),
        ("a" * 40, "job", None),
        ("1st-run", "job", None),
    ],
)
def test_a_trainjobs_pod_names_must_be_dns_1035_labels(
    tmp_path: Path, name: str, backend: str, refused: str | None
) -> None:
    found = _k002(tmp_path, name, backend)
    if refused is None:
        assert found == []
    else:
        (message,) = found
        assert refused in message and "-node-0-0-abcde" in message, message
