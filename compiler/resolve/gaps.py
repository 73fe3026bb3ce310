"""Gaps: manifests an environment may have that llmops could not read.

A file that stops at a syntax error, cannot be read, or holds a document whose identity is unknown
may define manifests the rest of the estate refers to. Checks that conclude from absence (a
reference to nothing, a model without approvals, settings left at their defaults) skip an
environment with a gap that may hold what they look for, and one note says so; nothing else is
reported in their place.
"""

from __future__ import annotations

from compiler.load.unread import UnreadPart
from compiler.records import record
from compiler.spec.kinds import KINDS
from compiler.spelling import closest_name

ALL_KINDS = frozenset(KINDS)


@record
class Gap:
    """Where manifests of ``kinds`` may be missing from, and why (``why`` completes "this file
    ...")."""

    file: str
    line: int
    origin: str  # the environment folder, or "_shared"
    kinds: frozenset[str]
    why: str

    def may_hold(self, kinds: frozenset[str]) -> bool:
        return not self.kinds.isdisjoint(kinds)


def _kind_of(word: str) -> frozenset[str] | None:
    """The kind a word after `kind:` names, allowing a misspelling; None when it names none."""
    if word in KINDS:
        return frozenset({word})
    close = closest_name(word, KINDS)
    return frozenset({close}) if close else None


def kinds_written(words_per_document: tuple[frozenset[str], ...] | None) -> frozenset[str]:
    """The kinds documents may hold, given the words written after `kind:` in each (any kind when
    unsure)."""
    if words_per_document is None:
        return ALL_KINDS
    kinds: set[str] = set()
    for words in words_per_document:
        named = [kind for word in words if (kind := _kind_of(word)) is not None]
        if not named:
            return ALL_KINDS  # a document whose kind cannot be told may be anything
        for found in named:
            kinds.update(found)
    return frozenset(kinds)


def unread_gap(part: UnreadPart, origin: str) -> Gap:
    why = "could not be read" if part.whole_file else f"could not be read from line {part.line} on"
    return Gap(part.file, part.line, origin, kinds_written(part.kind_words), why)


def describe_kinds(kinds: frozenset[str]) -> str:
    if kinds >= ALL_KINDS - {"Environment", "Approval"}:
        return "manifest"
    return " or ".join(sorted(kinds))
