"""Tags and directives other YAML readers take differently are refused, never read one way silently.

`maxReplicas: ! 3` rendered 3 (YAML 1.2 makes `! 3` the string "3"); `!!map 3` rendered 3; a
document declaring `%YAML 1.1` had `010` read as 10 with only a warning, though the document itself
says it is 8.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.load.yaml_strict import parse_documents
from tests.helpers.estate import copy_bundled_estate, run_cli

ENDPOINT = "environments/dev/serving/example-model.yaml"


def _codes(text: str) -> list[str]:
    return [d.code for d in parse_documents("m.yaml", text)[1]]


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("! 3", "Y004"),
        ("&n ! 3", "Y004"),
        ("! '3'", "Y004"),
        ('! "3"', "Y004"),
        ("[! 3]", "Y004"),
        ("{a: ! true}", "Y004"),
        ("!!map 3", "Y019"),
        ("!!map '3'", "Y019"),
        ("!!seq 3", "Y019"),
        ("!!seq abc", "Y019"),
        ("!!str {a: 1}", "Y004"),
        ("!!str [1]", "Y004"),
    ],
)
def test_a_tag_other_readers_take_differently_is_refused(value: str, code: str) -> None:
    assert code in _codes(f"spec:\n  maxReplicas: {value}\n")


@pytest.mark.parametrize(
    "value",
    ["3", "&n 3", "!!int 3", "!!str 3", "'3'", "! {a: 1}", "! [1]", "3 # a comment ! here"],
)
def test_what_every_reader_reads_alike_passes(value: str) -> None:
    assert _codes(f"spec:\n  maxReplicas: {value}\n") == []


def test_a_document_declaring_yaml_1_1_is_y020() -> None:
    text = "# yaml 1.1\n%YAML 1.1\n---\nspec:\n  maxReplicas: 010\n---\nspec:\n  maxReplicas: 3\n"
    diagnostics = parse_documents("m.yaml", text)[1]
    (directive,) = [d for d in diagnostics if d.code == "Y020"]
    assert (directive.span.line, directive.span.column) == (2, 1)
    assert "declares YAML 1.1" in directive.message


@pytest.mark.parametrize("version", ["1.0", "1.3", "2.0"])
def test_other_versions_are_refused_by_the_parser(version: str) -> None:
    assert _codes(f"%YAML {version}\n---\nspec:\n  maxReplicas: 3\n") == ["Y001"]


def test_yaml_1_2_declared_passes() -> None:
    assert _codes("%YAML 1.2\n---\nspec:\n  maxReplicas: 3\n") == []


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        ("  maxReplicas: 3", "  maxReplicas: ! 3", "Y004"),
        ("  maxReplicas: 3", "  maxReplicas: !!map 3", "Y019"),
        ("apiVersion", "%YAML 1.1\n---\napiVersion", "Y020"),
    ],
)
def test_validate_and_render_refuse_them(tmp_path: Path, old: str, new: str, code: str) -> None:
    root = copy_bundled_estate(tmp_path)
    path = root / ENDPOINT
    text = path.read_text(encoding="utf-8")
    start = text.index(old.split("\n")[0]) if old != "apiVersion" else text.index("apiVersion")
    path.write_text(text[:start] + new + text[start + len(old) :], encoding="utf-8")
    result = run_cli("validate", str(root), "--env", "dev")
    assert result.exit_code == 1 and f"error[{code}]" in result.stdout, result.stdout
    assert run_cli("render", str(root), "--env", "dev").exit_code == 1
