"""The comments of a YAML file, found in its raw text with the positions of the scanner's tokens.

PyYAML keeps no comments. A `#` starts one only outside every token (quoted and block scalars,
plain scalars such as `a#b`, tags) and after a space or at the start of a line, so the text between
tokens is searched for it. Scanning is a second pass over a file: callers scan only the files that
mention what they look for.
"""

from __future__ import annotations

import bisect

import yaml

from compiler.records import record

_Scanner: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# tokens that hold no text of their own: between them lies only space or comments
_MARKERS = (yaml.StreamStartToken, yaml.StreamEndToken, yaml.BlockEndToken)
_SEPARATORS = (yaml.DocumentStartToken, yaml.DocumentEndToken)


@record
class Comment:
    line: int  # 1-based
    column: int  # 1-based, of the `#`
    text: str  # from `#` to the end of the line, without trailing space
    own_line: bool  # nothing but space before it on its line

    @property
    def end_column(self) -> int:
        return self.column + len(self.text)


@record
class YamlLayout:
    """Where a file's comments, content and document markers are (1-based lines)."""

    comments: tuple[Comment, ...]
    content_lines: tuple[int, ...]  # sorted: lines where a key, value or indicator starts
    separators: tuple[int, ...]  # sorted: lines of `---` and `...` markers

    def next_content_line(self, line: int) -> int | None:
        """The first line after ``line`` holding content, in the same document."""
        index = bisect.bisect_right(self.content_lines, line)
        if index == len(self.content_lines):
            return None
        found = self.content_lines[index]
        return found if self.document_of(found) == self.document_of(line) else None

    def document_of(self, line: int) -> int:
        """Which document a line belongs to: the number of markers before it (a marker's own line
        belongs to the document it opens)."""
        return bisect.bisect_left(self.separators, line + 1) if line else 0

    def starts_document(self, line: int) -> bool:
        """Whether nothing but comments precede ``line`` in its document."""
        index = bisect.bisect_left(self.content_lines, line)
        return index == 0 or self.document_of(self.content_lines[index - 1]) != self.document_of(
            line
        )


def scan_layout(text: str) -> YamlLayout:
    """The file's comments and the lines of its content. After a syntax error nothing more is known
    (the loader reports the error); comments up to it are found."""
    lines = text.split("\n")
    covered: dict[int, list[tuple[int, int]]] = {}  # 0-based line -> token column ranges
    content: set[int] = set()
    separators: set[int] = set()
    last_line = len(lines)
    try:
        for token in yaml.scan(text, Loader=_Scanner):
            start, end = token.start_mark, token.end_mark
            if isinstance(token, _SEPARATORS):
                separators.add(start.line + 1)
            elif not isinstance(token, _MARKERS):
                content.add(start.line + 1)
            _cover(covered, lines, start.line, start.column, end.line, end.column)
    except yaml.YAMLError as error:
        marks = [getattr(error, name, None) for name in ("context_mark", "problem_mark")]
        last_line = min((mark.line for mark in marks if mark is not None), default=0)
    comments = tuple(
        comment
        for number, line in enumerate(lines[:last_line])
        if "#" in line
        for comment in _comment_in(number, line, covered.get(number, []))
    )
    return YamlLayout(comments, tuple(sorted(content)), tuple(sorted(separators)))


def _cover(
    covered: dict[int, list[tuple[int, int]]],
    lines: list[str],
    start_line: int,
    start_column: int,
    end_line: int,
    end_column: int,
) -> None:
    if start_line == end_line:
        if end_column > start_column:
            covered.setdefault(start_line, []).append((start_column, end_column))
        return
    covered.setdefault(start_line, []).append((start_column, len(lines[start_line]) + 1))
    for middle in range(start_line + 1, min(end_line, len(lines))):
        covered.setdefault(middle, []).append((0, len(lines[middle]) + 1))
    if end_column > 0 and end_line < len(lines):
        covered.setdefault(end_line, []).append((0, end_column))


def _comment_in(number: int, line: str, ranges: list[tuple[int, int]]) -> list[Comment]:
    """The comment on one line, if any: the first `#` outside every token, after space or at the
    start. The tokens' ranges are sorted once and walked beside the `#`s: testing each `#` against
    every range took 19 s for a 60 KB line of `a#` items."""
    spans = _merged(ranges)
    index = 0
    column = line.find("#")
    while column != -1:
        while index < len(spans) and spans[index][1] <= column:
            index += 1
        if index < len(spans) and spans[index][0] <= column:  # inside a token: past its end
            column = line.find("#", spans[index][1])
            continue
        if column == 0 or line[column - 1] in " \t":
            before = line[:column]
            return [Comment(number + 1, column + 1, line[column:].rstrip(), not before.strip())]
        column = line.find("#", column + 1)
    return []


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The ranges as sorted, disjoint ones covering the same columns."""
    merged: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1]:
            if high > merged[-1][1]:
                merged[-1] = (merged[-1][0], high)
        else:
            merged.append((low, high))
    return merged
