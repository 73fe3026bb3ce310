"""What a manifest file may hold beyond the documents that could be read.

A syntax error stops the reader: the documents after it are lost, and with them their identities. A
check that concludes from absence ("no endpoint `x` exists", "the model has no approval") would then
report something that is not true. The loader records the text it could not read and, document by
document, the kinds written in it, so that those checks can stand aside (see
`compiler.resolve.gaps`).
"""

from __future__ import annotations

import re

from compiler.records import record

# `kind: Model`, `"kind": "Model"` (a pasted JSON body), anywhere on a line
_KIND = re.compile(r"""["']?\bkind["']?\s*:\s*["']?([A-Za-z][A-Za-z0-9]*)""")
_DOCUMENT_BREAK = re.compile(r"^(?:---|\.\.\.)(?:\s|$)")


@record(eq=False, repr=False)
class UnreadPart:
    """Lines of a manifest file from ``line`` on (or the whole file) whose documents were not
    read."""

    file: str
    line: int
    # per document, the words after `kind:`; None: text unknown
    kind_words: tuple[frozenset[str], ...] | None
    whole_file: bool = False


def kind_words(text: str) -> tuple[frozenset[str], ...]:
    """For each document of ``text`` that holds anything but comments, the words written after
    `kind:`."""
    documents: list[frozenset[str]] = []
    words: set[str] = set()
    content = False
    for line in [*text.split("\n"), "---"]:
        if _DOCUMENT_BREAK.match(line):
            if content:
                documents.append(frozenset(words))
            words, content = set(), False
            continue
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            content = True
            words.update(_KIND.findall(line))
    return tuple(documents)


def unread_text(file: str, lines: list[str], first: int, last: int | None = None) -> UnreadPart:
    """The part of a file from 0-based line ``first`` to ``last`` (inclusive; the end when None)."""
    text = "\n".join(lines[first:] if last is None else lines[first : last + 1])
    return UnreadPart(file, first + 1, kind_words(text))
