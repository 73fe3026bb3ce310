"""Did you mean: the known name a misspelled one most likely meant, for every hint offering one.

Why a budget: one suggestion is cheap, but a run makes one per misspelling, each compared with
every known name. A hostile file of 45,000 unknown keys (under the 1 MiB limit) spent 4 s of a
5 s `validate` here, and 5,000 references against a catalog of 5,000 names would compare 25
million pairs. So every suggestion made inside a run (`suggestion_budget`, entered by
`compiler.pipeline.validate_repository`) draws on one budget of comparisons for the whole run,
and each check on each environment on one of its own (`compiler.check.runner`); once it is
spent, hints offer no more names (each diagnostic still says what is wrong and what is known).
A suggestion made outside a run (a single command-line word) has no budget: its own input
bounds it. Within a run, the same question is worked out once; asked again, it costs the
budget what working it out did, so what a check suggests depends only on what it asks.
"""

from __future__ import annotations

import contextlib
import heapq
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from difflib import SequenceMatcher

CUTOFF = 0.6  # difflib's similarity ratio below which a name is no suggestion
# What a run may spend on suggestions, in units of about half a microsecond on this project's
# development machine (`_LOOK`, `_count`, `_measure`: difflib's three steps, the last of which
# grows with the product of the two lengths: 22 us for 11 characters, 1 ms for 100). About a
# second in all.
RUN_BUDGET = 2_000_000
# What one check may spend on one environment: its findings are kept in the render cache by what
# the check read, so what it suggests may depend on nothing else (not on what others spent).
CHECK_BUDGET = 500_000
_LOOK = 1


def _count(word: str, name: str) -> int:
    """The cost of counting a name's letters against the word's (`quick_ratio`)."""
    return 6 + (len(word) + len(name)) // 8


def _measure(word: str, name: str) -> int:
    """The cost of the full similarity (`ratio`): about the product of the two lengths."""
    return max(40, len(word) * len(name) // 5)


class _Budget:
    """What is left of a budget, and the answers already worked out in the run with what each
    cost: an answer found again is charged as if worked out again, so what a check suggests never
    depends on what was asked before it (only the time to find it does)."""

    __slots__ = ("answers", "left", "lowered", "squashed")

    def __init__(self, units: int, within: _Budget | None = None) -> None:
        self.left = units
        self.answers: dict[tuple[str, tuple[str, ...], float], tuple[str | None, int]] = (
            {} if within is None else within.answers
        )
        self.squashed: dict[tuple[str, ...], dict[str, list[str]]] = (
            {} if within is None else within.squashed
        )
        self.lowered: dict[tuple[str, ...], dict[str, str]] = (
            {} if within is None else within.lowered
        )


_budget: ContextVar[_Budget | None] = ContextVar("suggestion_budget", default=None)


@contextlib.contextmanager
def suggestion_budget(units: int | None = None) -> Iterator[None]:
    """While entered, every suggestion draws on one budget of ``units`` (`RUN_BUDGET` unless
    given; see the module's docstring)."""
    token = _budget.set(_Budget(RUN_BUDGET if units is None else units, _budget.get()))
    try:
        yield
    finally:
        _budget.reset(token)


def _spend(budget: _Budget | None, units: int) -> bool:
    """Take ``units`` from the run's budget; False (and nothing taken) when it cannot pay."""
    if budget is None:
        return True
    if budget.left < units:
        budget.left = 0  # spent: later questions are not answered either, for a stable cut
        return False
    budget.left -= units
    return True


def _best_match(
    word: str, choices: tuple[str, ...], cutoff: float, budget: _Budget | None
) -> tuple[bool, str | None]:
    """What ``difflib.get_close_matches(word, choices, n=1, cutoff=cutoff)`` answers (the highest
    ratio, of equal ratios the greatest name), and whether the budget paid for all of it."""
    from difflib import SequenceMatcher  # only when a hint is made: `validate` starts faster

    if not _spend(budget, 12 + len(word) // 4):  # the word's letters indexed
        return False, None
    matcher: SequenceMatcher[str] = SequenceMatcher()
    matcher.set_seq2(word)
    found: list[tuple[float, str]] = []
    for name in choices:
        if not _spend(budget, _LOOK):
            return False, None
        matcher.set_seq1(name)
        if matcher.real_quick_ratio() < cutoff:
            continue
        if not _spend(budget, _count(word, name)):
            return False, None
        if matcher.quick_ratio() < cutoff:
            continue
        if not _spend(budget, _measure(word, name)):
            return False, None
        ratio = matcher.ratio()
        if ratio >= cutoff:
            found.append((ratio, name))
    best = heapq.nlargest(1, found)
    return True, best[0][1] if best else None


def close_match(word: str, choices: Iterable[str], cutoff: float = CUTOFF) -> str | None:
    """The choice most similar to ``word`` as difflib measures it (exactly
    ``difflib.get_close_matches(word, choices, n=1, cutoff=cutoff)``), or None: none is close, or
    the run's budget for suggestions is spent."""
    names = tuple(choices)
    budget = _budget.get()
    if budget is None:
        return _best_match(word, names, cutoff, None)[1]
    key = (word, names, cutoff)
    known = budget.answers.get(key)
    if known is not None:
        answer, cost = known
        return answer if _spend(budget, cost) else None
    before = budget.left
    paid, answer = _best_match(word, names, cutoff, budget)
    if paid:
        budget.answers[key] = (answer, before - budget.left)
    return answer


def _squashed(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def _by_squashed(names: tuple[str, ...], budget: _Budget | None) -> dict[str, list[str]]:
    """The names by their squashed spelling, made once per run for each list of names."""
    known = budget.squashed.get(names) if budget is not None else None
    if known is None:
        known = {}
        for name in names:
            known.setdefault(_squashed(name), []).append(name)
        if budget is not None:
            budget.squashed[names] = known
    return known


def _by_lower_case(names: tuple[str, ...], budget: _Budget | None) -> dict[str, str]:
    """Each lower-case spelling and the first name spelt so, made once per run for each list."""
    known = budget.lowered.get(names) if budget is not None else None
    if known is None:
        known = {}
        for name in names:
            known.setdefault(name.lower(), name)
        if budget is not None:
            budget.lowered[names] = known
    return known


def closest_name(word: str, choices: Iterable[str]) -> str | None:
    """The choice ``word`` most likely meant, in the choice's own spelling; None when none is close
    (or the run's budget for suggestions is spent).

    A choice that differs only in case, `_` and `-` wins (`ownerteam` -> `ownerTeam`; of several
    such, the one closest as written); otherwise the most similar ignoring case, as difflib
    measures it.
    """
    names = tuple(choices)
    budget = _budget.get()
    same = _by_squashed(names, budget).get(_squashed(word))
    if same:
        if len(same) == 1:
            return same[0]
        from difflib import SequenceMatcher

        return max(same, key=lambda name: SequenceMatcher(None, word, name).ratio())
    lowered = _by_lower_case(names, budget)
    match = close_match(word.lower(), lowered, CUTOFF)
    return lowered[match] if match is not None else None
