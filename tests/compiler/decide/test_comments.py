"""Comments are found in the raw text: a `#` inside a quoted or block scalar, or glued to a plain
scalar, is no comment; after a syntax error nothing more is claimed."""

from __future__ import annotations

from compiler.load.comments import scan_layout

TEXT = """\
# header of the first document
kind: Model  # after a value
quoted: "a # b"  # after a quoted value
single: 'it''s # not'
glued: a#b
block: |
  # a line of the block, not a comment
  text
flow: [1, # inside a flow sequence
  2]
  # on its own line, before the next key
next: 1
--- # on the marker
# header of the second document
kind: Dataset
"""


def comments() -> dict[int, str]:
    return {comment.line: comment.text for comment in scan_layout(TEXT).comments}


def test_only_real_comments_are_found() -> None:
    assert comments() == {
        1: "# header of the first document",
        2: "# after a value",
        3: "# after a quoted value",
        9: "# inside a flow sequence",
        11: "# on its own line, before the next key",
        13: "# on the marker",
        14: "# header of the second document",
    }


def test_positions_and_own_lines() -> None:
    found = {comment.line: comment for comment in scan_layout(TEXT).comments}
    assert (found[2].column, found[2].own_line) == (14, False)
    assert (found[11].column, found[11].own_line) == (3, True)


def test_documents_and_content_lines() -> None:
    layout = scan_layout(TEXT)
    assert layout.document_of(1) == layout.document_of(12) == 0
    assert layout.document_of(13) == layout.document_of(15) == 1
    assert layout.starts_document(1) and layout.starts_document(14)
    assert not layout.starts_document(11)
    assert layout.next_content_line(11) == 12
    assert layout.next_content_line(12) is None  # the next content is in the next document


def test_nothing_is_claimed_after_a_syntax_error() -> None:
    text = 'a: 1  # fine\nb: "unclosed # inside the quote\n# after\n'
    assert [c.text for c in scan_layout(text).comments] == ["# fine"]
