"""A file that cannot be read produces its own error and at most a note, never errors about other
files.

Its documents (and so their identities) are lost: a check that concludes from absence would report a
reference to nothing, a model without approvals, a policy left at its defaults. Each case breaks one
file of the bundled estate and runs `llmops validate` as a user would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compiler.load.unread import kind_words
from compiler.resolve.gaps import ALL_KINDS, kinds_written
from tests.helpers.estate import copy_bundled_estate, run_cli, write_files

DEV_ENDPOINT = "environments/dev/serving/example-model.yaml"
STG_ENDPOINT = "environments/stg/serving/example-model.yaml"
PROD_APPROVAL = "environments/prod/approvals/example-base-model-1-0-alice.yaml"
PROD_SETTINGS = "environments/prod/environment.yaml"


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    return copy_bundled_estate(tmp_path / "estate")


def break_line(estate: Path, relative: str, old: str, new: str) -> None:
    path = estate / relative
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def diagnostics(estate: Path, *argv: str) -> tuple[int, list[dict[str, Any]]]:
    result = run_cli("validate", str(estate), "--format", "json", *argv)
    return result.exit_code, json.loads(result.stdout)["diagnostics"]


def summary(found: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [(d["code"], d["file"], d["line"]) for d in found]


def test_a_broken_endpoint_file_gives_no_false_reference_error_elsewhere(estate: Path) -> None:
    """The issue's case: the shared experiment names the endpoint the broken file defines (R004)."""
    break_line(estate, DEV_ENDPOINT, "  minReplicas: 1", "  minReplicas 1")
    code, found = diagnostics(estate)
    assert code == 1
    # the file's own error first, then the note about what it made skip
    assert summary(found) == [("Y001", DEV_ENDPOINT, 10), ("Y017", DEV_ENDPOINT, 1)]
    note = found[1]
    assert note["severity"] == "info"
    assert note["message"] == (
        "R004 not checked in environment `dev`: it needs every ServingEndpoint there, and "
        "this file may hold more but could not be read from line 1 on"
    )


def test_checks_that_do_not_depend_on_the_lost_file_still_report(estate: Path) -> None:
    break_line(estate, DEV_ENDPOINT, "  minReplicas: 1", "  minReplicas 1")
    write_files(
        estate,
        {
            "environments/dev/prompts/greeting.yaml": """
        apiVersion: llmops.io/v1
        kind: PromptTemplate
        metadata:
          name: greeting
        spec:
          template: "Hello {{ customer }}"
    """
        },
    )
    _, found = diagnostics(estate)
    assert [d["code"] for d in found if d["severity"] == "error"] == ["X003", "Y001"]


def test_a_broken_approval_does_not_make_the_endpoint_unapproved(estate: Path) -> None:
    break_line(estate, PROD_APPROVAL, "  role: admin", "  role admin")
    code, found = diagnostics(estate)
    assert code == 1
    assert summary(found) == [("Y001", PROD_APPROVAL, 10), ("Y017", PROD_APPROVAL, 1)]
    assert found[1]["message"].startswith(
        "P001 not checked in environment `prod`: it needs every Approval there"
    )


def test_a_broken_file_in_the_required_environment_gives_no_promotion_error(estate: Path) -> None:
    """prod may only serve what stg serves (P012); stg's endpoint file is broken, so nobody
    knows."""
    break_line(estate, STG_ENDPOINT, "  minReplicas: 1", "  minReplicas 1")
    code, found = diagnostics(estate)
    assert code == 1
    assert [d["code"] for d in found] == ["Y001", "Y017"]
    assert all(d["file"] == STG_ENDPOINT for d in found)
    code, found = diagnostics(estate, "--env", "prod")
    assert (code, found) == (0, [])


def test_broken_settings_leave_the_environment_to_its_schemas(estate: Path) -> None:
    """With prod's settings lost, its defaults (one approver, KServe 0.15, no GPU product) would
    judge it."""
    break_line(estate, PROD_SETTINGS, "    minApprovers: 2", "    minApprovers 2")
    code, found = diagnostics(estate)
    assert code == 1
    assert summary(found) == [("Y001", PROD_SETTINGS, 27), ("Y017", PROD_SETTINGS, 1)]
    assert found[1]["message"] == (
        "environment `prod` was checked only against the schemas: its settings may be "
        "in this file, which could not be read from line 1 on"
    )


def test_an_invalid_environment_manifest_also_leaves_its_settings_unknown(estate: Path) -> None:
    break_line(estate, PROD_SETTINGS, "    minApprovers: 2", "    minApprover: 2")
    _, found = diagnostics(estate)
    assert [d["code"] for d in found] == ["S001", "Y017"]
    assert (
        "its settings may be in this file, which holds an Environment that is not valid (line 2)"
        in found[1]["message"]
    )


def test_a_lost_override_does_not_expose_the_shared_manifest(estate: Path) -> None:
    """dev overrides a shared GPU endpoint with a CPU one; with the override unreadable, the shared
    one must not be judged in dev (GPUs are not allowed there: P007)."""
    shared = (estate / STG_ENDPOINT).read_text(encoding="utf-8")
    shared = (
        shared.replace("name: example-model", "name: shared-model")
        .replace("/serve/example-model", "/serve/shared-model")
        .replace("  environment: stg\n", "")
        .replace("minReplicas: 1", "minReplicas: 2")
    )
    override = (
        (estate / DEV_ENDPOINT)
        .read_text(encoding="utf-8")
        .replace("name: example-model", "name: shared-model")
        .replace("/serve/example-model", "/serve/shared-model")
    )
    write_files(
        estate,
        {
            "environments/_shared/serving/shared-model.yaml": shared,
            "environments/dev/serving/shared-model.yaml": override,
        },
    )
    _, before = diagnostics(estate)
    assert [d for d in before if d["severity"] == "error"] == []
    break_line(
        estate, "environments/dev/serving/shared-model.yaml", "  minReplicas: 1", "  minReplicas 1"
    )
    _, found = diagnostics(estate)
    assert [(d["code"], d["file"]) for d in found if d["severity"] != "info"] == [
        ("Y001", "environments/dev/serving/shared-model.yaml")
    ]


def test_a_misspelt_kind_loses_the_identity_but_not_the_estate(estate: Path) -> None:
    break_line(estate, DEV_ENDPOINT, "kind: ServingEndpoint", "kind: ServingEndpont")
    code, found = diagnostics(estate)
    assert code == 1
    assert [(d["code"], d["line"]) for d in found] == [("S006", 3), ("Y017", 2)]
    assert (
        "this file may hold more but holds a document whose kind or name is not valid (line 2)"
        in found[1]["message"]
    )


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        (
            "apiVersion: llmops.io/v1\nkind: Model\n---\n# comment\n---\nkind: Dataset\n",
            {"Model", "Dataset"},
        ),
        ('{"apiVersion": "llmops.io/v1", "kind": "Approval", "spec": {', {"Approval"}),
        ("kind:ServingEndpoint\nspec: {}\n", {"ServingEndpoint"}),
        ("kind: ServingEndpont\n", {"ServingEndpoint"}),  # a misspelt kind is still that kind
        # a document without a kind may be any
        ("kind: Model\n---\nmetadata:\n  name: x\n", set(ALL_KINDS)),
        ("apiVersion: llmops.io/v1\nkind: Thing\n", set(ALL_KINDS)),
    ],
)
def test_the_kinds_a_lost_text_may_hold(text: str, kinds: set[str]) -> None:
    assert kinds_written(kind_words(text)) == kinds


@pytest.mark.parametrize("kind", ["fifo", "socket"])
def test_a_manifest_name_that_is_no_regular_file_is_reported_not_skipped(
    estate: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It may be meant to hold an endpoint: reading it would block (a FIFO) or fail, and skipping
    it said "no problems" for an estate that lacks it."""
    import os
    import socket

    path = estate / "environments" / "dev" / "serving" / "pipe.yaml"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        monkeypatch.chdir(path.parent)  # a socket's path is limited to about 100 bytes
        bound = socket.socket(socket.AF_UNIX)
        bound.bind(path.name)
        bound.close()
    result = run_cli("validate", str(estate), "--format", "json")
    assert result.exit_code == 1
    found = json.loads(result.stdout)["diagnostics"]
    unreadable = [d for d in found if d["code"] == "Y015"]
    assert [d["file"] for d in unreadable] == ["environments/dev/serving/pipe.yaml"]
    assert "not a regular file" in unreadable[0]["message"]
