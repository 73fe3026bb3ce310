"""No text in a manifest, and no folder's name, can print a line of its own in a report: a newline
in a value lands inside a message or hint (escaped), so a CI log cannot show a forged diagnostic,
and no escape sequence reaches a GitHub annotation raw."""

from __future__ import annotations

import json
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


@pytest.mark.parametrize("output_format", ["json", "sarif", "junit"])
def test_structured_reports_escape_unicode_line_breaks_from_values(
    tmp_path: Path, output_format: str
) -> None:
    """A reader that splits on U+2028 or NEL (Python's `splitlines`) must not see a line start with
    a manifest's text; JSON and XML readers still read the same characters."""
    estate = copy_bundled_estate(tmp_path / "estate")
    endpoint = estate / "environments" / "dev" / "serving" / "example-model.yaml"
    text = endpoint.read_text(encoding="utf-8")
    written = 'modelId: "ex\\u2028INJ3\\u0085INJ4\\u009bINJ5"'
    endpoint.write_text(text.replace("modelId: example-base-model-1.0", written), encoding="utf-8")
    result = run_cli("validate", str(estate), "--format", output_format)
    assert result.exit_code == 1
    assert not any(line.startswith("INJ") for line in result.stdout.splitlines())
    assert not {"\u2028", "\x85", "\x9b"} & set(result.stdout)
    if output_format == "json":
        (found,) = [d for d in json.loads(result.stdout)["diagnostics"] if d["code"] == "R001"]
        assert "ex\u2028INJ3\x85INJ4\x9bINJ5" in found["message"]  # the same text, escaped
