"""`llmops lineage MODEL`, the lineage section of `llmops explain`, and lineage in `history`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.estate import run_cli
from tests.helpers.git_repo import commit_all, init_repository
from tests.helpers.lineage_estate import write_lineage_estate


def test_lineage_prints_dataset_job_model_and_endpoint_in_order(tmp_path: Path) -> None:
    root = write_lineage_estate(tmp_path)
    result = run_cli("lineage", "support-sft@1.0", "--env", "stg", str(root))
    assert (result.exit_code, result.stderr) == (0, "")
    heads = [line.split()[0] for line in result.stdout.splitlines()[1:]]
    assert heads == ["model", "dataset", "job", "model", "endpoint", "approval"]
    assert "job       dev/support-sft (SFT, lora) trains support-model@1.0" in result.stdout
    assert "support-sft@1.0 (adapter on support-model@1.0)" in result.stdout
    assert "support-chat (serves it as adapter)" in result.stdout
    assert "approved: alice (1 of 1 needed); the approval covers the job and the dataset" in (
        result.stdout
    )


def test_lineage_as_json(tmp_path: Path) -> None:
    root = write_lineage_estate(tmp_path)
    result = run_cli("lineage", "support-sft-1.0", "--env", "dev", str(root), "--format", "json")
    report = json.loads(result.stdout)
    assert [step["model"]["id"] for step in report["ancestry"]] == [
        "support-model@1.0",
        "support-sft@1.0",
    ]
    trained = report["ancestry"][1]
    assert trained["job"]["environment"] == "dev"
    assert trained["job"]["writesTo"] == "s3://models/support-sft/1.0/"
    assert trained["dataset"]["id"] == "support-dataset@v1"
    assert report["producedBy"] == ["support-sft"]
    assert report["servedBy"] == [
        {
            "endpoint": "support-chat",
            "as": "adapter",
            "file": "environments/dev/serving/support-chat.yaml",
            "line": 1,
        }
    ]
    assert report["approval"]["approved"] is True
    assert report["problems"] == []


def test_lineage_exits_1_on_a_broken_link_and_names_it(tmp_path: Path) -> None:
    root = write_lineage_estate(tmp_path)
    model = root / "environments/_shared/catalog/support-sft.yaml"
    model.write_text(model.read_text().replace("/support-sft/1.0/", "/elsewhere/"))
    result = run_cli("lineage", "support-sft@1.0", "--env", "dev", str(root))
    assert result.exit_code == 1
    assert "problem   M003 storageUri is s3://models/elsewhere/" in result.stdout
    # the approval no longer matches the edited manifest either
    assert "not approved" in result.stdout


def test_an_unknown_model_is_a_usage_error(tmp_path: Path) -> None:
    root = write_lineage_estate(tmp_path, approve=False)
    result = run_cli("lineage", "nope@1", "--env", "dev", str(root))
    assert result.exit_code == 2
    assert "no Model `nope@1` in environment `dev`" in result.stderr


def test_explain_shows_the_lineage_of_the_adapters_it_serves(tmp_path: Path) -> None:
    root = write_lineage_estate(tmp_path)
    text = run_cli("explain", "support-chat", "--env", "stg", str(root)).stdout
    assert "lineage of Model/support-sft@1.0 in stg" in text
    data = json.loads(
        run_cli("explain", "support-chat", "--env", "stg", str(root), "--format", "json").stdout
    )
    assert [report["model"] for report in data["lineage"]] == ["support-sft@1.0"]


def test_history_marks_a_change_of_the_job_that_trained_a_served_adapter(tmp_path: Path) -> None:
    root = write_lineage_estate(tmp_path / "repo")
    repository = init_repository(root)
    commit_all(repository, "support-sft trained and served")
    job = root / "environments/dev/training/support-sft.yaml"
    job.write_text(job.read_text().replace("0.0002", "0.0003"))
    commit_all(repository, "Retrain with a higher learning rate")
    result = run_cli("history", "support-chat", "--env", "dev", str(root), "--format", "json")
    commits = json.loads(result.stdout)["commits"]
    assert commits[0]["subject"] == "Retrain with a higher learning rate"
    assert commits[0]["changes"] == [
        "lineage: job support-sft: trainJobSpec.hyperparameters.learning_rate 0.0002 -> 0.0003"
    ]


def test_an_unapproved_trained_model_does_not_claim_an_approval() -> None:
    from compiler.resolve.lineage_report import format_lineage_text

    report = {
        "model": "m@1",
        "environment": "dev",
        "ancestry": [],
        "servedBy": [],
        "approval": {
            "approved": False,
            "approvers": [],
            "needed": 1,
            "problems": [],
            "coversJob": True,
        },
        "problems": [],
    }
    text = format_lineage_text(report)
    assert (
        "not approved: nobody (0 of 1 needed); an approval covers the job and the dataset too"
        in text
    )
