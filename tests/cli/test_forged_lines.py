"""No text in a manifest, and no folder's name, can print a line of its own in a report: a newline
in a value lands inside a message or hint (escaped), so a CI log cannot show a forged diagnostic,
and no escape sequence reaches a GitHub annotation raw."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.estate import copy_bundled_estate, run_cli, write_files

FORGED = "fake.yaml:1:1: error[Z999]: forged"
ENDPOINT = (
    "apiVersion: llmops.io/v1\nkind: ServingEndpoint\nmetadata:\n"
    '  name: "x\\nfake.yaml:1:1: error[Z999]: forged"\n'
    'spec:\n  modelId: "nope\\nfake.yaml:1:1: error[Z999]: forged"\n  route: /x\n'
    "  minReplicas: 1\n  maxReplicas: 1\n"
)


@pytest.mark.parametrize("output_format", ["text", "github"])
def test_a_newline_in_a_value_never_starts_a_line(tmp_path: Path, output_format: str) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    write_files(estate, {"environments/dev/serving/forged.yaml": ENDPOINT})
    result = run_cli("validate", str(estate), "--env", "dev", "--format", output_format)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert "fake.yaml:1:1" in result.stdout  # shown, inside a message or hint
    assert not any(line.lstrip().startswith("fake.yaml") for line in lines), result.stdout
    assert sum(FORGED in line for line in lines) >= 2  # in the messages and hints, escaped


def test_an_escape_sequence_in_a_folder_name_is_shown_escaped_in_annotations(
    tmp_path: Path,
) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    folder = estate / "environments" / "x\x1b]0;pwned\x07"
    folder.mkdir()
    (folder / "thing.yaml").write_text(
        "apiVersion: llmops.io/v1\nkind: Dataset\nmetadata: {name: d}\nspec: {}\n", encoding="utf-8"
    )
    result = run_cli("validate", str(estate), "--format", "github")
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "\\x1b" in result.stdout


@pytest.mark.parametrize(
    "argv",
    [
        ["explain", "example-model", "--env", "prod"],
        ["lineage", "example-base-model@1.0", "--env", "prod"],
    ],
)
def test_a_newline_in_a_file_name_never_starts_a_line_of_explain_or_lineage(
    tmp_path: Path, argv: list[str]
) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    serving = estate / "environments" / "prod" / "serving"
    (serving / "example-model.yaml").rename(serving / "ex\nINJ1.yaml")
    result = run_cli(*argv, str(estate))
    assert result.exit_code == 0, result.stderr
    assert "ex\\x0aINJ1.yaml" in result.stdout
    assert not any(line.startswith("INJ") for line in result.stdout.splitlines())
