"""The guard of a proxy's client connections (llmops/proxy/connections.py says why): at most
``connection_cap()`` open, the oldest idle closed at the cap, a 503 when every one is busy, and a
408 for a request head that takes longer than ``header_timeout``.

Apart from aiohttp's request handler, so that it is compiled with the hot path
(llmops/proxy/native.py): every request starts and finishes in it, and every piece of a head that
arrives is noted in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
from collections import OrderedDict
from http import HTTPStatus
from typing import Any, Final, Protocol, cast

from llmops.proxy import envelope
from llmops.proxy.metrics import ProxyMetrics
from llmops.proxy.options import ProxyOptions

# descriptors kept for the listening socket, logs, the config file and the event loop
FD_RESERVE: Final = 64
SWEEP_SECONDS: Final = 0.5


def connection_cap(requested: int) -> int:
    """``requested``, lowered so that every client connection and one model-server connection for
    each (the upstream pool has the same cap) fit under the process's open-file limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return requested
    return max(1, min(requested, (soft - FD_RESERVE) // 2))


def both_shapes(status: int, message: str) -> bytes:
    """The envelope with OpenAI's `error` object: for answers given before the route is known."""
    return envelope.dumps(
        {
            "status": "error",
            "message": message,
            "data": None,
            "error": {"message": message, "type": envelope.error_type(status), "code": status},
        }
    )


def raw_answer(transport: asyncio.BaseTransport, status: int, message: str) -> None:
    """Answer on a connection aiohttp is not (or no longer) parsing, and close it."""
    body = both_shapes(status, message)
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: {envelope.JSON}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer = writable(transport)
    if writer is not None and not writer.is_closing():
        writer.write(head.encode() + body)
    transport.close()


def writable(transport: asyncio.BaseTransport) -> asyncio.WriteTransport | None:
    """``transport`` as one the proxy can write to, else None. asyncio's transports subclass
    ``WriteTransport``; uvloop's, which serve the proxy, have its methods without subclassing it,
    so an ``isinstance`` check alone said no to every one of them (and the 408 for a late head and
    the 503 for a full proxy were never written)."""
    if isinstance(transport, asyncio.WriteTransport) or (
        hasattr(transport, "write") and hasattr(transport, "set_write_buffer_limits")
    ):
        return cast(asyncio.WriteTransport, transport)
    return None


class Connection(Protocol):
    """What the guard needs of a connection's protocol object: aiohttp's, or the proxy's own
    server's (llmops/proxy/front.py)."""

    def force_close(self) -> None: ...


def refuse_when_full(transport: asyncio.BaseTransport, cap: int) -> None:
    """The 503 for a new connection when every one of the ``cap`` is busy."""
    raw_answer(transport, 503, f"the proxy has {cap} connections, all busy; retry shortly")


class ConnectionGuard:
    """The open client connections of one proxy, keyed by the protocol object of each (aiohttp's,
    or the proxy's own server's until it hands the connection over to aiohttp)."""

    def __init__(self, options: ProxyOptions, metrics: ProxyMetrics):
        self.cap = connection_cap(options.max_connections)
        self.header_timeout = options.header_timeout
        self.metrics = metrics
        self._open: dict[Connection, asyncio.BaseTransport] = {}
        # not serving a request, oldest first
        self._idle: OrderedDict[Connection, None] = OrderedDict()
        self._busy: dict[Connection, int] = {}
        # first byte of a head not yet complete
        self._head_started: dict[Connection, float] = {}
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def open_count(self) -> int:
        return len(self._open)

    def admit(self, handler: Connection, transport: asyncio.BaseTransport) -> bool:
        if len(self._open) >= self.cap:
            if not self._idle:
                self.metrics.connection_closed("refused")
                return False
            oldest, _ = self._idle.popitem(last=False)
            self.metrics.connection_closed("evicted")
            self._forget(oldest)
            oldest.force_close()
        self._open[handler] = transport
        self._idle[handler] = None
        return True

    def received(self, handler: Connection, loop_time: float) -> None:
        if handler in self._idle and handler not in self._head_started:
            self._head_started[handler] = loop_time

    def request_started(self, handler: Any) -> None:
        if handler in self._open:
            self._busy[handler] = self._busy.get(handler, 0) + 1
            # `in` and `del`, not `pop(handler, None)`: compiled, a method call with a default
            # goes through CPython's generic path (about 600 instructions each)
            idle, head_started = self._idle, self._head_started
            if handler in idle:
                del idle[handler]
            if handler in head_started:
                del head_started[handler]

    def request_finished(self, handler: Any) -> None:
        count = self._busy.get(handler)
        if count is None:
            return
        if count > 1:
            self._busy[handler] = count - 1
            return
        del self._busy[handler]
        self._idle[handler] = None

    def closed(self, handler: Connection) -> None:
        self._forget(handler)

    def replace(self, old: Connection, new: Connection) -> None:
        """``new`` serves ``old``'s connection from now on (handed over between requests): same
        count, the newest idle, its head's start kept."""
        transport = self._open.pop(old, None)
        if transport is None:
            return
        started = self._head_started.pop(old, None)
        self._idle.pop(old, None)
        self._busy.pop(old, None)
        self._open[new] = transport
        self._idle[new] = None
        if started is not None:
            self._head_started[new] = started

    def _forget(self, handler: Connection) -> None:
        self._open.pop(handler, None)
        self._idle.pop(handler, None)
        self._busy.pop(handler, None)
        self._head_started.pop(handler, None)

    def sweep(self, now: float) -> None:
        """Close the connections whose request head has taken longer than ``header_timeout``."""
        late = [
            handler
            for handler, since in self._head_started.items()
            if now - since > self.header_timeout
        ]
        for handler in late:
            transport = self._open.get(handler)
            self._forget(handler)
            self.metrics.connection_closed("header_timeout")
            if transport is not None:
                raw_answer(
                    transport,
                    408,
                    f"the request head did not arrive within {self.header_timeout:g} s",
                )
            handler.force_close()

    async def _sweep_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(SWEEP_SECONDS, self.header_timeout / 4))
            self.sweep(loop.time())

    def start(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
