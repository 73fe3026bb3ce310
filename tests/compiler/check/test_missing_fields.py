"""Missing required fields: one diagnostic per mapping, and for an Approval the command that writes
it.

A user who pastes the original platform's approval body (`{"status": "approved"}`) must learn that
`llmops approve` writes Approvals and computes the digest; the command in the hint must work as
printed.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from compiler.check.schema import validate_document
from compiler.load.yaml_strict import parse_documents
from tests.helpers.estate import copy_bundled_estate, run_cli, write_files

HAND_WRITTEN = "environments/dev/approvals/hand-written.yaml"
APPROVAL = """
    apiVersion: llmops.io/v1
    kind: Approval
    metadata:
      name: hand-written
    spec: {spec}
"""
DIGEST_WORDS = (
    "which fills in `modelDigest` (sha256 of the model's kind, name and spec without `status`, as "
    "canonical JSON); commit the file it writes instead of this one"
)


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    return copy_bundled_estate(tmp_path / "estate")


def validate_json(estate: Path) -> tuple[int, list[dict[str, Any]]]:
    result = run_cli("validate", str(estate), "--env", "dev", "--format", "json")
    return result.exit_code, json.loads(result.stdout)["diagnostics"]


def command_in(hint: str) -> list[str]:
    command = hint.split("`")[1]
    assert command.startswith("llmops approve ")
    return shlex.split(command)[1:]


def test_the_original_platform_approval_body_gets_one_error_naming_llmops_approve(
    estate: Path,
) -> None:
    write_files(estate, {HAND_WRITTEN: APPROVAL.format(spec='{"status": "approved"}')})
    code, found = validate_json(estate)
    assert code == 1
    assert [(d["code"], d["file"], d["line"], d["column"]) for d in found] == [
        ("S002", HAND_WRITTEN, 5, 1)
    ]
    assert (
        found[0]["message"]
        == "missing required fields `modelId`, `approvedBy`, `role` and `modelDigest` in spec"
    )
    assert found[0]["hint"] == (
        "an Approval is written by `llmops approve MODEL@VERSION --env dev --by <user> "
        f"--role <role>`, {DIGEST_WORDS}"
    )


def test_the_hinted_command_writes_an_approval_that_validates(estate: Path) -> None:
    spec = (
        '{"modelId": "example-base-model-1.0", "approvedBy": "carol", "role": "admin", "status": '
        '"approved"}'
    )
    write_files(estate, {HAND_WRITTEN: APPROVAL.format(spec=spec)})
    _, found = validate_json(estate)
    assert [(d["code"], d["message"]) for d in found] == [
        ("S002", "missing required field `modelDigest` in spec")
    ]
    argv = command_in(found[0]["hint"])
    assert argv == [
        "approve",
        "example-base-model-1.0",
        "--env",
        "dev",
        "--by",
        "carol",
        "--role",
        "admin",
    ]
    (estate / HAND_WRITTEN).unlink()
    result = run_cli(*argv, str(estate))
    assert result.exit_code == 0, result.stderr
    written = estate / result.stdout.strip()
    assert "modelDigest: sha256:" in written.read_text(encoding="utf-8")
    assert validate_json(estate) == (0, [])


def test_other_kinds_get_one_merged_error_without_a_command() -> None:
    documents, _ = parse_documents(
        "environments/dev/m.yaml",
        "apiVersion: llmops.io/v1\nkind: Model\nmetadata: {name: m}\nspec: {type: base}\n",
    )
    _, diagnostics = validate_document(documents[0])
    assert [(d.code, d.span.line, d.message, d.path, d.hint) for d in diagnostics] == [
        ("S002", 4, "missing required fields `version` and `storageUri` in spec", ("spec",), None)
    ]


def test_a_single_missing_field_keeps_its_own_path() -> None:
    documents, _ = parse_documents(
        "environments/dev/m.yaml",
        "apiVersion: llmops.io/v1\nkind: Model\n"
        "metadata: {name: m}\nspec: {type: base, version: '1'}\n",
    )
    _, diagnostics = validate_document(documents[0])
    assert [(d.message, d.path) for d in diagnostics] == [
        ("missing required field `storageUri` in spec", ("spec", "storageUri"))
    ]
