"""Values changed in place: the rest of the text stays byte for byte, each new value is written as
the old one was quoted, and anything that is not a one-place value edit is refused (None)."""

from __future__ import annotations

from typing import Any

from compiler.load.yaml_strict import parse_documents
from llmops.document_patch import patch_values

TEXT = """# leading comment
first: 1
---
# the second document
spec:
  plain: a   # stays
  single: 'b'
  double: "c"
  number: 3
  block: |
    text
"""


def second(text: str) -> Any:
    documents, problems = parse_documents("f.yaml", text)
    assert not problems
    return documents[1]


def changed(**values: Any) -> dict[str, Any]:
    data = second(TEXT).data
    return {"spec": {**data["spec"], **values}}


def test_each_value_keeps_its_quoting_and_everything_else_stays() -> None:
    new = changed(plain="x", single="it's", double="y", number=4)
    patched = patch_values(TEXT, second(TEXT), new)
    assert patched == TEXT.replace("plain: a ", "plain: x ").replace("'b'", "'it''s'").replace(
        '"c"', '"y"'
    ).replace("number: 3", "number: 4")


def test_a_plain_value_that_would_read_as_something_else_is_quoted() -> None:
    for value, written in (("1.0", '"1.0"'), ("a: b", '"a: b"'), ("yes", '"yes"')):
        patched = patch_values(TEXT, second(TEXT), changed(plain=value))
        assert patched is not None and f"plain: {written}   # stays" in patched
        assert second(patched).data["spec"]["plain"] == value


def test_more_than_a_value_edit_is_refused() -> None:
    document = second(TEXT)
    assert patch_values(TEXT, document, changed(extra=1)) is None  # a key added
    assert patch_values(TEXT, document, changed(number={"a": 1})) is None  # scalar -> mapping
    assert patch_values(TEXT, document, changed(block="other\n")) is None  # a block scalar
    assert patch_values(TEXT, document, changed()) == TEXT  # nothing changes
