"""Schema patterns read the way the API server reads them.

The API server matches a schema's `pattern` with Go's regular expressions, where `$` (without the
`m` flag) matches only at the very end of the text. Python's `$` also matches just before a final
newline, so `^[a-z0-9]+$` accepts `"name\\n"` in Python and refuses it in the cluster: judged with
Python's `re`, `llmops conform` would accept what the API server refuses. Each pattern is
translated once, every `$` outside a character class becoming `\\Z` (Python's end of text).
"""

from __future__ import annotations

import re
from functools import cache


def python_pattern(pattern: str) -> str:
    """``pattern`` with each end-of-text `$` written as `\\Z`; escapes and character classes (where
    `$` is a character) are kept as they are."""
    out: list[str] = []
    in_class = False
    class_start = 0  # where the current class's members begin (a `]` there is a member)
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            out.append(pattern[index : index + 2])
            index += 2
            continue
        if in_class:
            in_class = char != "]" or index == class_start
        elif char == "[":
            in_class = True
            class_start = index + (2 if pattern.startswith("[^", index) else 1)
        elif char == "$":
            char = r"\Z"
        out.append(char)
        index += 1
    return "".join(out)


@cache
def compiled(pattern: str) -> re.Pattern[str]:
    """The pattern, compiled with Go's meaning of `$`."""
    return re.compile(python_pattern(pattern))


def search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches somewhere in ``text``, as the API server judges it."""
    return compiled(pattern).search(text) is not None
