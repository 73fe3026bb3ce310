"""Did you mean: the known name a misspelled one most likely meant, for every hint offering one."""

from __future__ import annotations

from collections.abc import Iterable

CUTOFF = 0.6  # difflib's similarity ratio below which a name is no suggestion


def _squashed(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def closest_name(word: str, choices: Iterable[str]) -> str | None:
    """The choice ``word`` most likely meant, in the choice's own spelling; None when none is close.

    A choice that differs only in case, `_` and `-` wins (`ownerteam` -> `ownerTeam`; of several
    such, the one closest as written); otherwise the most similar ignoring case, as difflib
    measures it.
    """
    import difflib  # only when a hint is made: most runs make none, and `validate` starts faster

    names = list(choices)
    same = [name for name in names if _squashed(name) == _squashed(word)]
    if same:
        return max(same, key=lambda name: difflib.SequenceMatcher(None, word, name).ratio())
    lowered: dict[str, str] = {}
    for name in names:
        lowered.setdefault(name.lower(), name)
    matches = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=CUTOFF)
    return lowered[matches[0]] if matches else None
