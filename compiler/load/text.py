"""Bytes to text: UTF-8 only, with the position of the first bad byte."""

from __future__ import annotations

from compiler.load import rules
from compiler.load.tree import FileProblem, RepoTree


def manifest_text(tree: RepoTree, path: str) -> str | None:
    """A manifest file's text for editing it, or None when it is missing, too large or not UTF-8.
    A byte order mark it opens with is kept (as U+FEFF): an edit writes the file back with it."""
    from compiler.load.estate import MAX_MANIFEST_BYTES

    try:
        data = tree.read_bytes(path, MAX_MANIFEST_BYTES)
        return ("\ufeff" if data.startswith(b"\xef\xbb\xbf") else "") + decode_utf8(data)
    except FileProblem:
        return None


def decode_utf8(data: bytes) -> str:
    """Decode strictly (a leading BOM is allowed); raise ``FileProblem`` naming line and column."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        prefix = data[: error.start]
        line = prefix.count(b"\n") + 1
        column = len(prefix[prefix.rfind(b"\n") + 1 :].decode("utf-8", errors="replace")) + 1
        raise FileProblem(
            rules.NOT_UTF8,
            f"byte 0x{data[error.start]:02x} at line {line}, column {column} is not valid UTF-8",
            "save the file as UTF-8",
            line=line,
            column=column,
        ) from None
