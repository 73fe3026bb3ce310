"""Which other environments a piece of work read.

Why: the render cache keeps each check's findings for an environment by what the check read, and
the names of the other environments (peers) it read are part of that: a check of stg that read
dev's training job is stale once dev changes. Checks share what they compute
(`ResolvedEnvironment.remember`), so a value one check computed from a peer and another took from
the memo must count as read by both. Every environment's peers are a `PeerMap`, which notes each
name asked for into every `noting_peers` set entered; `remember` keeps the names its computation
read with the value and notes them again whenever the value is handed out.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from compiler.resolve.environment import ResolvedEnvironment

T = TypeVar("T")
_notes: ContextVar[tuple[set[str], ...]] = ContextVar("peer_notes", default=())


@contextlib.contextmanager
def noting_peers(into: set[str]) -> Iterator[None]:
    """While entered, the name of every peer read (by any environment) is added to ``into``, as
    well as to the sets of the `noting_peers` entered around this one."""
    token = _notes.set((*_notes.get(), into))
    try:
        yield
    finally:
        _notes.reset(token)


def computed_noting_peers(compute: Callable[[], T], into: set[str]) -> T:
    """``compute()`` within `noting_peers(into)`, without a context manager's cost (remembered
    values are computed thousands of times a run)."""
    token = _notes.set((*_notes.get(), into))
    try:
        return compute()
    finally:
        _notes.reset(token)


def note_peers(names: Iterable[str]) -> None:
    """Count ``names`` as read, for every `noting_peers` entered."""
    notes = _notes.get()
    if notes:
        names = tuple(names)
        for into in notes:
            into.update(names)


class PeerMap(dict[str, "ResolvedEnvironment"]):
    """An environment's peers by name, noting every name asked for (all of them when listed)."""

    def _all(self) -> None:
        note_peers(dict.keys(self))

    def __getitem__(self, name: str) -> ResolvedEnvironment:
        note_peers((name,))
        return dict.__getitem__(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        note_peers((name,))
        return dict.get(self, name, default)

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            note_peers((name,))
        else:
            self._all()
        return dict.__contains__(self, name)

    def __iter__(self) -> Iterator[str]:
        self._all()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._all()
        return dict.__len__(self)

    def keys(self) -> Any:
        self._all()
        return dict.keys(self)

    def values(self) -> Any:
        self._all()
        return dict.values(self)

    def items(self) -> Any:
        self._all()
        return dict.items(self)
