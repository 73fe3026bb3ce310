"""Lineage checks across environments and with the environment's default output."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.estate import codes, validate, write_files
from tests.helpers.lineage_estate import write_lineage_estate


def lineage_codes(root: Path, env: str | None = None) -> list[str]:
    return [code for code in codes(validate(root, env).diagnostics) if code.startswith("M")]


def test_a_model_promoted_from_dev_resolves_its_dev_job_when_stg_is_validated_alone(
    tmp_path: Path,
) -> None:
    root = write_lineage_estate(tmp_path)
    assert codes(validate(root).diagnostics) == []
    # `--env stg` loads dev as context because the model's trainedBy names it
    assert codes(validate(root, "stg").diagnostics) == []


def test_a_changed_dev_job_is_seen_from_stg(tmp_path: Path) -> None:
    root = write_lineage_estate(tmp_path)
    job = root / "environments/dev/training/support-sft.yaml"
    job.write_text(job.read_text().replace("s3://models/support-sft/1.0/", "s3://models/x/"))
    assert "M003" in lineage_codes(root, "stg")


def test_trained_by_an_environment_that_does_not_exist(tmp_path: Path) -> None:
    root = write_lineage_estate(tmp_path, approve=False)
    model = root / "environments/_shared/catalog/support-sft.yaml"
    model.write_text(model.read_text().replace("dev/support-sft", "qa/support-sft"))
    diagnostics = [d for d in validate(root, "dev").diagnostics if d.code == "M001"]
    assert [d.message for d in diagnostics] == [
        "trainedBy names environment `qa`, which does not exist"
    ]


def test_the_default_output_of_a_job_is_where_its_model_must_be(tmp_path: Path) -> None:
    root = write_lineage_estate(tmp_path, approve=False)
    job = root / "environments/dev/training/support-sft.yaml"
    job.write_text(job.read_text().replace("    storageUri: s3://models/support-sft/1.0/\n", ""))
    write_files(
        root,
        {
            "environments/dev/environment.yaml": """
                apiVersion: llmops.io/v1
                kind: Environment
                metadata:
                  name: dev
                spec:
                  kserve:
                    version: "0.16"
                  training:
                    outputUri: s3://models/support-sft/
            """
        },
    )
    model = root / "environments/_shared/catalog/support-sft.yaml"
    assert "M003" in lineage_codes(root, "dev")  # s3://models/support-sft/support-sft/
    model.write_text(
        model.read_text().replace(
            "s3://models/support-sft/1.0/", "s3://models/support-sft/support-sft"
        )
    )
    assert lineage_codes(root, "dev") == []


def test_an_endpoint_cannot_serve_an_adapter_alone(tmp_path: Path) -> None:
    root = write_lineage_estate(tmp_path, approve=False)
    endpoint = root / "environments/dev/serving/support-chat.yaml"
    endpoint.write_text(
        endpoint.read_text().replace("modelId: support-model@1.0", "modelId: support-sft@1.0")
    )
    found = [d for d in validate(root, "dev").diagnostics if d.code == "M006"]
    assert [d.message for d in found] == [
        "Model/support-sft@1.0 is an adapter and cannot be served alone"
    ]
    assert found[0].hint == "serve modelId: support-model@1.0 with adapters: [support-sft@1.0]"


def test_an_unknown_adapter_is_an_unresolved_model_reference(tmp_path: Path) -> None:
    root = write_lineage_estate(tmp_path, approve=False)
    endpoint = root / "environments/dev/serving/support-chat.yaml"
    endpoint.write_text(endpoint.read_text().replace("- support-sft@1.0", "- support-sft@2.0"))
    found = [d for d in validate(root, "dev").diagnostics if d.code == "R001"]
    assert [d.message for d in found] == [
        "model `support-sft@2.0` does not exist in environment `dev`"
    ]
