"""Which other environments a piece of work read.

Why: the render cache keeps each check's findings for an environment by what the check read, and
the names of the other environments (peers) it read are part of that: a check of stg that read
dev's training job is stale once dev changes. Checks share what they compute
(`ResolvedEnvironment.remember`), so a value one check computed from a peer and another took from
the memo must count as read by both. Every environment's peers are a `PeerMap`, which appends
each name asked for to the run's log of peer reads; `noting_peers` collects what was logged while
it was entered, and `remember` keeps what its computation logged with the value and logs it again
whenever the value is handed out. (A log, not a set entered per computation: remembered values
are computed thousands of times a run, and a set for each cost 1.7 % of a one-file render.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compiler.resolve.environment import ResolvedEnvironment

_log: ContextVar[list[str] | None] = ContextVar("peer_reads", default=None)


def peer_log() -> list[str]:
    """The names of the peers read so far in this run (`peer_reads_run`). Outside a run nothing
    keeps them (no render cache asks), so a long-lived process (the console) holds no log that
    only grows: each call gets an empty list of its own."""
    log = _log.get()
    return [] if log is None else log


@contextlib.contextmanager
def peer_reads_run() -> Iterator[None]:
    """A run of its own: while entered, peer reads go to a log of its own, dropped at the end."""
    token = _log.set([])
    try:
        yield
    finally:
        _log.reset(token)


@contextlib.contextmanager
def noting_peers(into: set[str]) -> Iterator[None]:
    """Add to ``into`` the name of every peer read (by any environment) while entered."""
    log = peer_log()
    start = len(log)
    try:
        yield
    finally:
        into.update(log[start:])


def note_peers(names: Iterable[str]) -> None:
    """Count ``names`` as read."""
    peer_log().extend(names)


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
