"""A document whose identity field (kind, name, version) fails validation produces its own error
and at most a note, never errors about the documents that refer to it: the version or name written
is not the one meant, so what refers to it cannot be judged. Each case breaks one field of the
bundled estate and runs `llmops validate` as a user would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.estate import copy_bundled_estate, run_cli

MODEL = "environments/_shared/catalog/example-base-model.yaml"
DATASET = "environments/_shared/catalog/customer-support-dataset.yaml"
TEMPLATES = "environments/_shared/prompts/support-templates.yaml"
DEV_ENDPOINT = "environments/dev/serving/example-model.yaml"
STG_ENDPOINT = "environments/stg/serving/example-model.yaml"
PROD_APPROVAL = "environments/prod/approvals/example-base-model-1-0-alice.yaml"


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    return copy_bundled_estate(tmp_path / "estate")


def edit(estate: Path, relative: str, old: str, new: str) -> None:
    path = estate / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def found(estate: Path, *argv: str) -> list[dict[str, Any]]:
    result = run_cli("validate", str(estate), "--format", "json", *argv)
    return list(json.loads(result.stdout)["diagnostics"])


def codes_and_files(diagnostics: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(d["code"], d["file"]) for d in diagnostics]


@pytest.mark.parametrize(
    ("relative", "old", "new", "code"),
    [
        (MODEL, '"version": "1.0",\n', "", "S002"),
        (MODEL, '"version": "1.0"', '"version": [1]', "S003"),
        (DATASET, "  version: v1.0\n", "", "S002"),
        (DATASET, "  version: v1.0", "  version: [1]", "S003"),
    ],
    ids=[
        "model-version-missing",
        "model-version-list",
        "dataset-version-missing",
        "dataset-version-list",
    ],
)
def test_a_version_that_is_not_valid_gives_no_reference_errors(
    estate: Path, relative: str, old: str, new: str, code: str
) -> None:
    edit(estate, relative, old, new)
    assert codes_and_files(found(estate)) == [(code, relative)]


@pytest.mark.parametrize(
    ("relative", "old", "new", "skipped", "environments"),
    [
        (
            MODEL,
            "  name: example-base-model",
            "  name: Example_Model",
            "R001",
            "`dev`, `prod`, `stg`",
        ),
        (DEV_ENDPOINT, "  name: example-model", "  name: Example_Model", "R004", "`dev`"),
        (TEMPLATES, "  name: support-", "  name: Bad_support-", "R003", "`dev`, `prod`, `stg`"),
    ],
    ids=["model", "endpoint", "template"],
)
def test_a_name_that_is_not_valid_is_a_gap_not_a_missing_manifest(
    estate: Path, relative: str, old: str, new: str, skipped: str, environments: str
) -> None:
    edit(estate, relative, old, new)
    diagnostics = found(estate)
    errors = [d for d in diagnostics if d["severity"] == "error"]
    assert {d["code"] for d in errors} <= {"K001", "S008"} and all(
        d["file"] == relative for d in errors
    ), errors
    notes = [d for d in diagnostics if d["code"] == "Y017"]
    assert len(notes) == 1 and notes[0]["file"] == relative
    assert notes[0]["message"].startswith(f"{skipped} not checked in environment")
    assert environments in notes[0]["message"] and "whose name is not valid" in notes[0]["message"]


def test_an_approval_with_a_misspelt_field_does_not_count_as_missing(estate: Path) -> None:
    edit(estate, PROD_APPROVAL, "  modelId:", "  modelIdx:")
    diagnostics = found(estate)
    assert [d["code"] for d in diagnostics if d["severity"] == "error"] == ["S001"]
    (note,) = [d for d in diagnostics if d["code"] == "Y017"]
    assert note["message"].startswith(
        "P001 not checked in environment `prod`: it needs every Approval there"
    )
    assert "holds an Approval that is not valid (line 2)" in note["message"]


def test_an_endpoint_that_is_not_valid_in_stg_gives_prod_no_promotion_error(estate: Path) -> None:
    """stg's approval of the version is withdrawn, and stg's endpoint is not valid: what stg serves
    is not known, so prod's promotion order cannot be judged."""
    (estate / "environments/stg/approvals/example-base-model-1-0-admin.yaml").unlink()
    edit(estate, STG_ENDPOINT, "  minReplicas: 1", '  minReplicas: "one"')
    assert [d["code"] for d in found(estate, "--env", "prod") if d["severity"] == "error"] == []


def test_a_second_environment_manifest_in_a_folder_is_named_as_one_too_many(estate: Path) -> None:
    """Not "defined twice" (it is defined once, and renaming it fixes nothing)."""
    (estate / "environments/dev/extra-env.yaml").write_text(
        "apiVersion: llmops.io/v1\nkind: Environment\nmetadata:\n  name: foo\n"
        "spec:\n  namespace: llm-ops-foo\n",
        encoding="utf-8",
    )
    result = run_cli("validate", str(estate), "--env", "dev")
    assert result.exit_code == 1
    assert (
        "environments/dev/extra-env.yaml:2:7: error[R005]: a second Environment (`foo`) in the "
        "folder of `dev`: an environment has one Environment manifest" in result.stdout
    )
    assert "defined twice" not in result.stdout
    assert "environments/dev/environment.yaml:5:9: the environment's own" in result.stdout


def test_a_folder_moved_one_level_too_high_is_not_taken_for_an_environment(estate: Path) -> None:
    """`environments/serving/` (meant as `environments/dev/serving/`) made an environment named
    `serving` without a word; with environment.yaml it is one, and nothing is said."""
    import shutil

    shutil.copytree(estate / "environments/dev/serving", estate / "environments/serving")
    result = run_cli("validate", str(estate))
    assert result.exit_code == 1
    assert (
        "environments/serving:1:1: error[P006]: `environments/serving/` is read as an environment "
        "named `serving`, but it has no Environment manifest" in result.stdout
    )
    assert "(environments/<env>/serving/)" in result.stdout
    (estate / "environments/serving/environment.yaml").write_text(
        "apiVersion: llmops.io/v1\nkind: Environment\nmetadata:\n  name: serving\nspec: {}\n",
        encoding="utf-8",
    )
    assert "error[P006]" not in run_cli("validate", str(estate)).stdout


def test_a_folder_named_with_capitals_gets_its_lowercase_name_in_every_hint(
    estate: Path,
) -> None:
    """`environments/Dev/`: K005 names the folder's valid spelling, and P005 no longer suggests
    writing `environment: Dev`, which K005 refuses."""
    (estate / "environments/dev").rename(estate / "environments/Dev")
    result = run_cli("validate", str(estate))
    assert result.exit_code == 1
    assert "error[K005]: environment folder `Dev` is not a valid name" in result.stdout
    assert "hint: rename the folder to `dev`" in result.stdout
    assert "set environment: Dev" not in result.stdout
    assert "hint: rename the folder environments/Dev/ to `dev` (K005)" in result.stdout
