"""Editing one document of a multi-document file leaves every other byte alone."""

from __future__ import annotations

import pytest
import yaml

from compiler.errors import LlmopsError
from llmops.document_text import append_document, document_count, document_text, replace_document

FILE = """# header comment
a: 1  # first
---
# about b
b: 2
---
c: |
  --- not a marker, inside a block
"""


def test_documents_are_cut_where_the_parser_says() -> None:
    assert document_count(FILE, "f.yaml") == 3
    assert document_text(FILE, 0, "f.yaml") == "# header comment\na: 1  # first\n"
    assert document_text(FILE, 1, "f.yaml") == "# about b\nb: 2\n"
    assert document_text(FILE, 2, "f.yaml") == "c: |\n  --- not a marker, inside a block\n"


@pytest.mark.parametrize("index", [0, 1, 2])
def test_replacing_one_document_keeps_the_others_byte_for_byte(index: int) -> None:
    edited = replace_document(FILE, index, "x: 9\n", "f.yaml")
    documents = list(yaml.safe_load_all(edited))
    expected = [{"a": 1}, {"b": 2}, {"c": "--- not a marker, inside a block\n"}]
    expected[index] = {"x": 9}
    assert documents == expected
    for other in {0, 1, 2} - {index}:
        assert document_text(FILE, other, "f.yaml") in edited


def test_removing_and_appending() -> None:
    assert list(yaml.safe_load_all(replace_document(FILE, 0, None, "f.yaml"))) == [
        {"b": 2},
        {"c": "--- not a marker, inside a block\n"},
    ]
    assert replace_document("only: 1\n", 0, None, "f.yaml") == ""
    assert append_document("a: 1", "b: 2") == "a: 1\n---\nb: 2\n"
    assert append_document("", "b: 2") == "b: 2\n"
    assert append_document("t: |\n  hi\n", "b: 2") == "t: |\n  hi\n---\nb: 2\n"


@pytest.mark.parametrize("indicator", ["|", "|+", ">"])
def test_appending_never_changes_the_text_that_ends_a_file(indicator: str) -> None:
    """A block of text ending the file without its line break: the break before the new document
    would become part of it (a prompt template's "hello" became "hello\n" on promote's branch,
    which validated). Refused, saying how to make room."""
    with pytest.raises(LlmopsError, match="ends inside a block of text") as refused:
        append_document(f"template: {indicator}\n  hello", "b: 2")
    assert "end the file with a line break" in (refused.value.hint or "")
    assert append_document("template: |-\n  hello", "b: 2") == (
        "template: |-\n  hello\n---\nb: 2\n"
    )


def test_a_broken_file_is_a_clear_error() -> None:
    with pytest.raises(LlmopsError, match="is not valid YAML"):
        replace_document("a: [\n", 0, "b: 1\n", "broken.yaml")


def test_a_byte_order_mark_stays_the_files() -> None:
    """Editors on Windows open UTF-8 files with a BOM, which the loader allows: an edit keeps it
    at the file's start, and a document taken out of such a file does not carry it elsewhere."""
    text = "\ufeff# lead\r\na: 1\r\n---\r\nb: 2\r\n"
    assert (
        replace_document(text, 1, "b: 3\n", "f.yaml") == "\ufeff# lead\r\na: 1\r\n---\r\nb: 3\r\n"
    )
    assert replace_document(text, 0, "a: 9\n", "f.yaml").startswith("\ufeffa: 9\r\n")
    assert replace_document(text, 0, None, "f.yaml").startswith("\ufeffb: 2")
    assert append_document(text, "c: 3\n") == text + "---\r\nc: 3\r\n"
    assert document_text(text, 0, "f.yaml") == "# lead\r\na: 1\r\n"
    assert not document_text(text, 0, "f.yaml").startswith("\ufeff")
