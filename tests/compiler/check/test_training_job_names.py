"""Training jobs' names and labels, as the objects they become need them. With
`training.backend: trainjob`, Kubeflow Trainer runs each TrainJob as a JobSet of its name, whose
pods are `<job>-<8 hex>-node-0-0-<5 random>`: JobSet refuses the JobSet unless that is a DNS-1035
label. K002 holds a training job's name to it (39 characters, a letter first); a batch/v1 Job's
names allow 54. A TrainingJob's labels go onto its Job's pods, where the Job controller's own are
refused (K006)."""

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


@pytest.mark.parametrize(
    "key", ["job-name", "controller-uid", "batch.kubernetes.io/job-name", "batch.kubernetes.io/x"]
)
def test_a_training_job_leaves_the_job_controllers_labels_to_it(tmp_path: Path, key: str) -> None:
    """A TrainingJob's labels go onto its Job's pod template, where the API server refuses these
    unless they are the Job's own name and uid (which a manifest cannot know)."""
    root = copy_bundled_estate(tmp_path)
    job = root / JOB
    job.write_text(
        job.read_text().replace(
            "  name: customer-support-sft\n",
            f"  name: customer-support-sft\n  labels:\n    {key}: customer-support-sft\n",
        )
    )
    found = [d for d in validate(root, "dev").diagnostics if d.code == "K006"]
    assert [(d.span.line, d.span.column) for d in found] == [(9, 5)]
    assert "Job controller" in found[0].message


def test_a_serving_endpoint_may_use_those_labels(tmp_path: Path) -> None:
    root = copy_bundled_estate(tmp_path)
    endpoint = root / "environments/dev/serving/example-model.yaml"
    text = endpoint.read_text()
    assert "  name: example-model\n" in text
    endpoint.write_text(
        text.replace(
            "  name: example-model\n", "  name: example-model\n  labels:\n    job-name: x\n"
        )
    )
    assert [d for d in validate(root, "dev").diagnostics if d.code == "K006"] == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("app.kubernetes.io/name", "llmops-proxy"),
        ("serving.kserve.io/inferenceservice", "other"),
        ("serving.kserve.io/anything", "x"),
    ],
)
def test_an_endpoint_leaves_selector_labels_to_their_owners(
    tmp_path: Path, key: str, value: str
) -> None:
    """An endpoint's labels reach its pods: the proxy's selector there made the proxy's Service
    send its traffic to the model server, and KServe's own labels select KServe's pods."""
    root = copy_bundled_estate(tmp_path)
    endpoint = root / "environments/dev/serving/example-model.yaml"
    endpoint.write_text(
        endpoint.read_text().replace(
            "  name: example-model\n", f"  name: example-model\n  labels:\n    {key}: {value}\n"
        )
    )
    (found,) = [d for d in validate(root, "dev").diagnostics if d.code == "K006"]
    assert "is not this manifest's to set" in found.message
