"""`llmops validate --format github|sarif|junit` end to end on a tiny broken estate."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.helpers.estate import run_cli, write_files

BROKEN = "environments/dev/x.yaml"


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    return write_files(
        tmp_path,
        {
            BROKEN: """
        # a comment, so the problem is not on line 1
        apiVersion: llmops.io/v1
        kind: Bogus
        metadata:
          name: x
        """
        },
    )


def test_github(estate: Path) -> None:
    result = run_cli("validate", str(estate), "--format", "github")
    assert result.exit_code == 1, result.stderr
    first, summary = result.stdout.splitlines()
    assert first.startswith(
        f"::error file={BROKEN},line=3,col=7,endLine=3,endColumn=12,title=S006 unknown-kind"
    )
    assert summary == "1 error (1 file, environments: dev)"


def test_sarif(estate: Path) -> None:
    result = run_cli("validate", str(estate), "--format", "sarif")
    assert result.exit_code == 1, result.stderr
    (run,) = json.loads(result.stdout)["runs"]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == ["S006"]
    assert run["tool"]["driver"]["rules"][0]["shortDescription"]["text"]
    (found,) = run["results"]
    physical = found["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == BROKEN
    assert (physical["region"]["startLine"], physical["region"]["startColumn"]) == (3, 7)


def test_junit(estate: Path) -> None:
    result = run_cli("validate", str(estate), "--format", "junit")
    assert result.exit_code == 1, result.stderr
    root = ET.fromstring(result.stdout)
    (case,) = root.iter("testcase")
    assert case.attrib["name"] == BROKEN
    failure = case.find("failure")
    assert failure is not None and failure.attrib["type"] == "S006"
    assert f"{BROKEN}:3:7: error[S006]" in (failure.text or "")


@pytest.mark.parametrize("fmt", ["github", "sarif", "junit"])
def test_clean_estate_exits_0(tmp_path: Path, fmt: str) -> None:
    root = write_files(
        tmp_path,
        {
            "environments/dev/environment.yaml": """
        apiVersion: llmops.io/v1
        kind: Environment
        metadata:
          name: dev
        """
        },
    )
    result = run_cli("validate", str(root), "--format", fmt)
    assert result.exit_code == 0, result.stdout
    if fmt == "github":
        assert result.stdout == "no problems (1 file, environments: dev)\n"
    elif fmt == "sarif":
        assert json.loads(result.stdout)["runs"][0]["results"] == []
    else:
        assert ET.fromstring(result.stdout).attrib["failures"] == "0"
