"""Edit one document of a YAML file as text, leaving every other byte of the file as it was.

Rollback and promotion replace or remove a single manifest in files that may hold several; the
neighbours (and their comments) must come through untouched, so the file is cut at document
boundaries found by the YAML parser, never re-serialized.
"""

from __future__ import annotations

import yaml

from compiler.errors import LlmopsError

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MARKER = "---"
# a UTF-8 file may open with a byte order mark (the loader allows it; editors on Windows write it):
# it is the file's, kept at its start, and never part of a document moved elsewhere
_BOM = "\ufeff"


def _chunks(text: str, file: str) -> list[str]:
    """The file cut into one piece per document; joined they give the file back exactly."""
    starts: list[int] = []
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.DocumentStartEvent):
                index = event.start_mark.index if event.start_mark is not None else 0
                starts.append(0 if not starts else text.rfind("\n", 0, index) + 1)
    except yaml.YAMLError as error:
        raise LlmopsError(
            f"{file} is not valid YAML, so it cannot be edited: {error}".splitlines()[0]
        ) from None
    if not starts:
        return [text]
    bounds = [*starts[1:], len(text)]
    return [text[start:end] for start, end in zip(starts, bounds, strict=True)]


def _body(chunk: str) -> str:
    """A document's text without a leading `---` line, ending in a newline."""
    lines = chunk.splitlines(keepends=True)
    while lines and lines[0].strip() == "":
        lines.pop(0)
    if lines and lines[0].rstrip() == _MARKER:
        lines.pop(0)
    body = "".join(lines)
    return body if body.endswith("\n") or not body else body + "\n"


def document_text(text: str, index: int, file: str) -> str:
    """Document ``index``'s own text (never the file's byte order mark, which is the file's)."""
    return _document_text(text.removeprefix(_BOM), index, file)


def _document_text(text: str, index: int, file: str) -> str:
    """The text of document `index` (0-based, as the loader counts), without its `---` line."""
    chunks = _chunks(text, file)
    if index >= len(chunks):
        raise LlmopsError(f"{file} has no document {index + 1}")
    return _body(chunks[index])


def document_count(text: str, file: str) -> int:
    return len(_chunks(text, file)) if text.strip() else 0


def newline_of(text: str) -> str:
    """The line ending a file uses (most of its lines'): `\r\n` or `\n`."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf * 2 >= text.count("\n") else "\n"


def with_newline(text: str, newline: str) -> str:
    """`text` with every line ending written as `newline`."""
    unified = text.replace("\r\n", "\n")
    return unified if newline == "\n" else unified.replace("\n", newline)


def replace_document(text: str, index: int, new_body: str | None, file: str) -> str:
    """The file with document `index` replaced by `new_body` (None: removed); a byte order mark
    the file starts with stays where it is, whichever document is replaced."""
    mark = _BOM if text.startswith(_BOM) else ""
    replaced = _replace_document(text.removeprefix(_BOM), index, new_body, file)
    return mark + replaced if replaced else replaced


def _replace_document(text: str, index: int, new_body: str | None, file: str) -> str:
    """The file with document `index` replaced by `new_body` (None: removed). What is written
    takes the file's line endings, so a CRLF file stays CRLF."""
    chunks = _chunks(text, file)
    if index >= len(chunks):
        raise LlmopsError(f"{file} has no document {index + 1}")
    newline = newline_of(text)
    if new_body is None:
        del chunks[index]
        if chunks and index == 0:
            chunks[0] = with_newline(_body(chunks[0]), newline)
    else:
        keeps_marker = index > 0 or chunks[index].lstrip().startswith(_MARKER)
        chunks[index] = with_newline(
            (f"{_MARKER}\n" if keeps_marker else "") + _body(new_body), newline
        )
    return "".join(chunks)


def append_document(text: str, body: str) -> str:
    """The file with one more document at its end, in the file's line endings (and its byte
    order mark, if it has one)."""
    if text.startswith(_BOM):
        return _BOM + append_document(text.removeprefix(_BOM), body)
    if not text.strip():
        return _body(body)
    newline = newline_of(text)
    separator = "" if text.endswith("\n") else newline
    if separator and _values(text) != _values(text + separator):
        # `template: |` ending the file without its line break: the break a new document needs
        # before it would become part of that text ("hello" read "hello\n" on the new branch)
        raise LlmopsError(
            "the file ends inside a block of text without a final line break, and adding a "
            "document after it would add one to that text",
            hint="end the file with a line break (for text that must not end with one, write "
            "`|-` instead of `|`), commit, and run the command again",
        )
    return text + with_newline(f"{separator}{_MARKER}\n{_body(body)}", newline)


def _values(text: str) -> list[object] | None:
    """The file's documents as values (None when it cannot be read as YAML)."""
    try:
        return list(yaml.load_all(text, Loader=_Loader))  # _Loader: a safe loader
    except yaml.YAMLError:
        return None
