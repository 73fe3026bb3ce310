"""``within``: `asyncio.timeout_at` for code that already holds its event loop.

Python 3.11 looks up the running loop three times for each `asyncio.timeout` (creating it, finding
the current task, scheduling the timer), and each lookup makes a `getpid` system call to check the
loop was not inherited across a fork. This does what `asyncio.Timeout` does, with the loop given,
and the same rules: the block is cancelled at the deadline, and the cancellation becomes a
``TimeoutError`` only when nothing else asked to cancel the task meanwhile.

Nor does each block start and stop a timer of its own: nearly every block ends long before its
deadline (a request's answer, minutes), and a timer started and stopped cost about 6,000
instructions a request, 3 % of the proxy's work for a whole answer. A loop's blocks are kept in
slots of ``1 / SLOTS_PER_SECOND`` s by the end of their deadline's slot, and one timer waits for
the earliest slot that held a block when it was set. A block's deadline fires at most one slot
(16 ms) late; entering and leaving one is two dictionary updates.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any, Final

# each loop's running task, where asyncio keeps it in Python (3.11)
_RUNNING: Final[dict[asyncio.AbstractEventLoop, asyncio.Task[Any]] | None] = (
    getattr(asyncio.tasks, "_current_tasks", None)
    if isinstance(getattr(asyncio.tasks, "_current_tasks", None), dict)
    else None
)
SLOTS_PER_SECOND: Final = 64  # a power of two: a slot's start is an exact float
# a timer's callback may run this much before its time (uvloop keeps time in milliseconds)
_EARLY: Final = 0.001


class within:  # lower case, as the `asyncio.timeout` it replaces
    """``async with within(loop, when):`` raises ``TimeoutError`` when the block has not ended by
    the loop's time ``when`` (at most one slot later)."""

    __slots__ = ("_cancelling", "_expired", "_key", "_loop", "_slot", "_task", "_when")

    def __init__(self, loop: asyncio.AbstractEventLoop, when: float):
        self._loop = loop
        self._when = when
        self._expired = False
        self._cancelling = 0
        self._task: asyncio.Task[object] | None = None
        self._slot: dict[within, None] | None = None  # while waiting for its deadline
        self._key = 0

    async def __aenter__(self) -> within:
        loop = self._loop
        task = _current_task(loop)
        if task is None:
            raise RuntimeError("within() must be used inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        _deadlines_of(loop).enter(self)
        return self

    def _expire(self) -> None:
        self._slot = None
        assert self._task is not None
        self._task.cancel()
        self._expired = True

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        slot = self._slot
        if slot is not None:
            self._slot = None
            del slot[self]
            if not slot:
                _deadlines_of(self._loop).forget(self._key)
        if self._expired:
            self._expired = False
            assert self._task is not None
            if self._task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
                raise TimeoutError from exc


def _current_task(loop: asyncio.AbstractEventLoop) -> asyncio.Task[Any] | None:
    """`asyncio.current_task(loop)`: on Python 3.11 a Python function reading the dict asyncio
    keeps of each loop's running task, read here directly (later versions keep it in C, and
    their `current_task` is in C too)."""
    if _RUNNING is None:
        return asyncio.current_task(loop)
    return _RUNNING.get(loop)


class _Deadlines:
    """One event loop's blocks waiting for their deadlines: by slot (the number of the slot their
    deadline ends, counted from the loop's time 0; only slots holding a block), and the one timer,
    set for the earliest slot when it was set. The timer is not moved when that slot empties (most
    do: their blocks end in time); when it fires it expires what is due and is set again for the
    earliest slot left, so it fires about once per deadline's length while blocks end in time."""

    __slots__ = ("_armed", "_slots", "_timer", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._slots: dict[int, dict[within, None]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._armed = 0  # the slot the timer is set for

    def enter(self, block: within) -> None:
        # the first slot starting after the deadline (`int` of a positive float truncates)
        key = int(block._when * SLOTS_PER_SECOND) + 1
        slot = self._slots.get(key)
        if slot is None:
            slot = {}
            self._slots[key] = slot
            if self._timer is None or key < self._armed:
                self._set(key)
        slot[block] = None
        block._slot = slot
        block._key = key

    def forget(self, key: int) -> None:
        """The slot ``key`` has emptied: dropped, so that what is kept is what is waiting."""
        del self._slots[key]

    def _set(self, key: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._armed = key
        self._timer = self.loop.call_at(key / SLOTS_PER_SECOND, self._fire)

    def _fire(self) -> None:
        self._timer = None
        slots = self._slots
        if not slots:
            return
        due = int((self.loop.time() + _EARLY) * SLOTS_PER_SECOND)  # slots started by now
        for key in [key for key in slots if key <= due]:
            for block in slots.pop(key):
                block._expire()
        if slots:
            self._set(min(slots))


class _Current:
    """The loop that used ``within`` last, and its deadlines: nearly always the only one."""

    __slots__ = ("deadlines",)

    def __init__(self) -> None:
        self.deadlines: _Deadlines | None = None


_CURRENT: Final = _Current()
_BY_LOOP: Final[dict[asyncio.AbstractEventLoop, _Deadlines]] = {}


def _deadlines_of(loop: asyncio.AbstractEventLoop) -> _Deadlines:
    deadlines = _CURRENT.deadlines
    if deadlines is not None and deadlines.loop is loop:
        return deadlines
    found = _BY_LOOP.get(loop)
    if found is None:
        for closed in [other for other in _BY_LOOP if other.is_closed()]:
            del _BY_LOOP[closed]  # a loop that ended (each test's): nothing of it waits
        found = _BY_LOOP[loop] = _Deadlines(loop)
    _CURRENT.deadlines = found
    return found
