"""Inline suppressions: `# llmops: ignore[CODE, ...] reason` in a manifest file.

A comment after content covers its own line; a comment on a line of its own covers the next line
with content, or, above the first content of a document (or on its `---`), the whole document. A
reason is required: a suppression without one suppresses nothing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from compiler.decide import rules
from compiler.decide.settings import closest_rule
from compiler.diagnostics import CODE_PATTERN, Diagnostic, Rule, make_diagnostic
from compiler.positions import Span
from compiler.records import record

if TYPE_CHECKING:
    from compiler.load.comments import Comment, YamlLayout

MARKER = "llmops:"
FORM = "`# llmops: ignore[CODE] reason`"
_DIRECTIVE = re.compile(r"#\s*llmops:\s*")
_IGNORE = re.compile(r"ignore\[(?P<codes>[^\]]*)\]")
_CODE_WORD = re.compile(r"[^,\s]+")
# what may separate the codes from the reason: `ignore[C004]: reason`, `ignore[C004] -- reason`
_REASON_LEAD = " \t:;,-\u2013\u2014"


@record(eq=False, repr=False)
class Suppression:
    """One `# llmops: ignore[CODE] reason` comment: the codes it names and what it covers."""

    comment: Span
    codes: tuple[tuple[str, Span], ...]  # each known code, with where it is written
    reason: str
    line: int | None  # the line it covers; None: the whole document
    document: int  # which document of the file it sits in

    def covers(self, code: str) -> bool:
        return any(known == code for known, _ in self.codes)


@record(eq=False, repr=False)
class FileSuppressions:
    """The suppression comments of one file, with its layout to place them."""

    file: str
    layout: YamlLayout
    suppressions: tuple[Suppression, ...]

    @functools.cached_property
    def _by_place(self) -> tuple[dict[int, list[Suppression]], dict[int, list[Suppression]]]:
        """The suppressions by the line they cover, and by document for those covering a whole
        one, each in file order: a diagnostic looks up its own (going through all of them for
        each one took 69 s for 20,000 suppressions and 10,000 diagnostics in one file)."""
        by_line: dict[int, list[Suppression]] = {}
        by_document: dict[int, list[Suppression]] = {}
        for suppression in self.suppressions:
            if suppression.line is not None:
                by_line.setdefault(suppression.line, []).append(suppression)
            else:
                by_document.setdefault(suppression.document, []).append(suppression)
        return by_line, by_document

    def matching(self, code: str, span: Span, document: Span) -> Suppression | None:
        """The suppression of ``code`` covering a diagnostic at ``span`` whose document holds
        ``document`` (a line suppression wins over a document one)."""
        by_line, by_document = self._by_place
        if span.file == self.file:
            for suppression in by_line.get(span.line, ()):
                if suppression.covers(code):
                    return suppression
        if document.file == self.file:
            for suppression in by_document.get(self.layout.document_of(document.line), ()):
                if suppression.covers(code):
                    return suppression
        return None


def read_suppressions(
    file: str, text: str, known: Mapping[str, Rule]
) -> tuple[FileSuppressions | None, list[Diagnostic]]:
    """The file's suppressions and the problems of malformed ones; nothing for a file that never
    mentions the marker (most files: they are not scanned)."""
    if MARKER not in text:
        return None, []
    # imported here: the scanner is needed only by the few files that have a suppression
    from compiler.load.comments import scan_layout

    layout = scan_layout(text)
    found: list[Suppression] = []
    problems: list[Diagnostic] = []
    for comment in layout.comments:
        directive = _DIRECTIVE.match(comment.text)
        if directive is not None:
            suppression = _parse(file, comment, directive.end(), layout, known, problems)
            if suppression is not None:
                found.append(suppression)
    return FileSuppressions(file, layout, tuple(found)), problems


def _parse(
    file: str,
    comment: Comment,
    start: int,
    layout: YamlLayout,
    known: Mapping[str, Rule],
    problems: list[Diagnostic],
) -> Suppression | None:
    place = Span(file, comment.line, comment.column, comment.line, comment.end_column)
    body = _IGNORE.match(comment.text, start)
    if body is None:
        problems.append(
            make_diagnostic(
                rules.SUPPRESSION_MALFORMED,
                f"`{comment.text}` is not a suppression llmops understands",
                place,
                hint=f"write {FORM}, e.g. `# llmops: ignore[C004] replicas are added at launch`",
            )
        )
        return None
    codes_at = comment.column + body.start("codes")
    written = [
        (
            word.group(),
            Span(file, comment.line, codes_at + word.start(), comment.line, codes_at + word.end()),
        )
        for word in _CODE_WORD.finditer(body.group("codes"))
    ]
    if not written:
        problems.append(
            make_diagnostic(
                rules.SUPPRESSION_MALFORMED,
                "the suppression names no rule",
                place,
                hint=f"write the codes to suppress: {FORM}",
            )
        )
        return None
    codes = []
    for code, at in written:
        if code in known:
            codes.append((code, at))
            continue
        suggestion = closest_rule(code, list(known))
        problems.append(
            make_diagnostic(
                rules.SUPPRESSION_UNKNOWN_CODE,
                f"`{code}` is not a rule code"
                + ("" if CODE_PATTERN.fullmatch(code) else " (a code is a letter and 3 digits)"),
                at,
                hint=f"did you mean `{suggestion}`?"
                if suggestion
                else "`llmops rules` lists the codes",
            )
        )
    reason = comment.text[body.end() :].lstrip(_REASON_LEAD).strip()
    if not any(character.isalnum() for character in reason):
        problems.append(
            make_diagnostic(
                rules.SUPPRESSION_WITHOUT_REASON,
                "the suppression gives no reason, so it suppresses nothing",
                place,
                hint="say why after the codes, e.g. "
                "`# llmops: ignore[C004] the proxy's queue is what we want here`",
            )
        )
        return None
    if not codes:
        return None
    return Suppression(place, tuple(codes), reason, *_scope(comment, layout))


def _scope(comment: Comment, layout: YamlLayout) -> tuple[int | None, int]:
    """(the line it covers or None for the document, its document)."""
    document = layout.document_of(comment.line)
    on_marker = comment.line in layout.separators
    if on_marker or (comment.own_line and layout.starts_document(comment.line)):
        return None, document
    if not comment.own_line:
        return comment.line, document
    following = layout.next_content_line(comment.line)
    return (following if following is not None else comment.line), document
