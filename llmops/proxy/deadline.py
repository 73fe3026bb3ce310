"""``within``: `asyncio.timeout_at` for code that already holds its event loop.

Python 3.11 looks up the running loop three times for each `asyncio.timeout` (creating it, finding
the current task, scheduling the timer), and each lookup makes a `getpid` system call to check the
loop was not inherited across a fork: with the other lookups of a request, about 4 % of the
proxy's CPU under load. This does what `asyncio.Timeout` does, with the loop given, and the same
rules: the block is cancelled at the deadline, and the cancellation becomes a ``TimeoutError`` only
when nothing else asked to cancel the task meanwhile.
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class within:  # lower case, as the `asyncio.timeout` it replaces
    """``async with within(loop, when):`` raises ``TimeoutError`` when the block has not ended by
    the loop's time ``when``."""

    __slots__ = ("_cancelling", "_expired", "_handle", "_loop", "_task", "_when")

    def __init__(self, loop: asyncio.AbstractEventLoop, when: float):
        self._loop = loop
        self._when = when
        self._expired = False
        self._cancelling = 0
        self._task: asyncio.Task[object] | None = None
        self._handle: asyncio.Handle | None = None

    async def __aenter__(self) -> within:
        loop = self._loop
        task = asyncio.current_task(loop)  # with the loop given: no lookup
        if task is None:
            raise RuntimeError("within() must be used inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        if self._when <= loop.time():
            self._handle = loop.call_soon(self._expire)
        else:
            self._handle = loop.call_at(self._when, self._expire)
        return self

    def _expire(self) -> None:
        assert self._task is not None
        self._task.cancel()
        self._expired = True

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._expired:
            self._expired = False
            assert self._task is not None
            if self._task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
                raise TimeoutError from exc
