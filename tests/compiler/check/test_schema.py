"""Schema diagnostics: one mistake gives one diagnostic, at the key or value to change."""

from __future__ import annotations

from compiler.check.schema import validate_document
from compiler.load.yaml_strict import parse_documents

MODEL = """\
apiVersion: llmops.io/v1
kind: Model
metadata: {{name: m}}
spec:
  version: {version}
  type: base
  {storage_key}: s3://models/m/1/
"""


def diagnose(text: str) -> list[tuple[str, int, int, str | None]]:
    documents, problems = parse_documents("m.yaml", text)
    assert problems == []
    _, diagnostics = validate_document(documents[0])
    return [(d.code, d.span.line, d.span.column, d.hint) for d in diagnostics]


def test_misspelt_required_field_is_one_diagnostic() -> None:
    assert diagnose(MODEL.format(version='"1"', storage_key="storageURI")) == [
        ("S001", 7, 3, "did you mean `storageUri`? (it is required and missing)")]


def test_unrelated_unknown_and_missing_fields_stay_two() -> None:
    text = MODEL.format(version='"1"', storage_key="weights")
    assert sorted(code for code, *_ in diagnose(text)) == ["S001", "S002"]


def test_number_for_a_string_suggests_the_quoted_source_text() -> None:
    assert diagnose(MODEL.format(version="1.10", storage_key="storageUri")) == [
        ("S003", 5, 12, 'quote it to keep it as written: "1.10"')]


def test_parameter_count_accepts_the_seeds_form_and_explains_a_bad_one() -> None:
    base = MODEL.format(version='"1"', storage_key="storageUri") + "  metadata:\n    parameters: "
    assert diagnose(base + "7B\n") == []
    assert diagnose(base + "7000000000\n") == []
    ((code, line, column, hint),) = diagnose(base + "banana\n")
    assert (code, line, column) == ("S005", 9, 17)
    assert hint is not None and "7B" in hint
