"""An approval of a trained model covers the job and the dataset that made it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.estate import validate
from tests.helpers.lineage_estate import write_lineage_estate


def stale(root: Path, env: str) -> list[str]:
    """The models whose approvals P002 reports as stale."""
    return sorted(
        d.message.split(" of ")[1].split(" ")[0]
        for d in validate(root, env).diagnostics
        if d.code == "P002"
    )


@pytest.mark.parametrize(
    ("path", "old", "new"),
    [
        # the job trains with another learning rate
        ("environments/dev/training/support-sft.yaml", "0.0002", "0.0003"),
        # the job trains on another dataset version's data
        (
            "environments/_shared/catalog/support-dataset.yaml",
            "s3://datasets/support-dataset/v1/",
            "s3://datasets/support-dataset/v1-fixed/",
        ),
    ],
)
def test_changing_the_job_or_its_dataset_voids_the_trained_models_approvals(
    tmp_path: Path, path: str, old: str, new: str
) -> None:
    root = write_lineage_estate(tmp_path)
    assert stale(root, "dev") == stale(root, "stg") == []
    file = root / path
    file.write_text(file.read_text().replace(old, new))
    # the base model's approvals stand; the adapter's are void in every environment serving it
    assert stale(root, "dev") == stale(root, "stg") == ["Model/support-sft@1.0"]


def test_comments_and_labels_of_the_job_do_not_change_the_digest(tmp_path: Path) -> None:
    root = write_lineage_estate(tmp_path)
    job = root / "environments/dev/training/support-sft.yaml"
    job.write_text(
        "# retrained on Tuesday\n"
        + job.read_text().replace(
            "  name: support-sft\n", "  name: support-sft\n  labels: {a: b}\n"
        )
    )
    assert stale(root, "stg") == []
