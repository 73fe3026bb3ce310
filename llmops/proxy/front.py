"""The proxy's own HTTP/1.1 server for plain inference requests, in front of aiohttp's.

Why: aiohttp's server machinery alone (parsing, request and response objects, the router, the
middleware) cost about 0.09 ms of CPU per request at concurrency 32, twice what nginx spends on a
whole relay; an asyncio protocol answering by itself about 0.02 ms. So every client connection
starts here (``InferenceConnection``): a request whose head is in a strict, common subset of
HTTP/1.1 (llmops/proxy/lean_head.py: a POST to an inference route with a Content-Length) is served
here, through the same route code (llmops/proxy/serve_routes.py) as under aiohttp. At the first
request that is not (any other route or method, chunked or encoded bodies, an Expect, anything
unusual or malformed), the connection is handed over to aiohttp (``GuardedRequestHandler``) with
every byte read since the end of the last answer, and stays there: aiohttp's parser answers or
refuses it exactly as before, and the platform routes, the catalog, /metrics and the console stay
aiohttp's.

The bounds of the hardening work hold for the requests served here too:

- the connection cap, idle eviction and the header-read timeout: the same ``ConnectionGuard``
  counts these connections (a handed-over one keeps its place and its head's start);
- the body: at most ``max_request_bytes`` (413, never read), within ``header_timeout`` (408);
- keep-alive: an idle connection is closed after ``keepalive_timeout``; a body left unread is
  skipped when it has arrived, else the connection is closed;
- pipelined requests are answered in order; bytes beyond the request being served are held up to
  ``PIPELINE_BYTES``, then reading pauses;
- writes: at most ``WRITE_BUFFER_BYTES`` buffered before a write waits for the caller, each piece
  (``PIECE_BYTES``, or a stream's events) within ``write_timeout``, else the connection is aborted
  (llmops/proxy/delivery.py);
- a caller that disconnects cancels its request, and with it the call to the model server;
- a bug is one log line and a 500 in the route's shape; a header value holding a control character
  is refused as a bug, never written;
- on shutdown, idle connections close and requests in flight finish (up to the runner's time).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from email.utils import formatdate
from http import HTTPStatus
from typing import TYPE_CHECKING, Final, cast

from aiohttp.tcp_helpers import tcp_nodelay

from llmops.proxy import envelope
from llmops.proxy.deadline import within
from llmops.proxy.delivery import (
    LAST_WORDS_SECONDS,
    PIECE_BYTES,
    WRITE_BUFFER_BYTES,
    ClientGone,
    ClientStalled,
)
from llmops.proxy.exchange import Exchange, too_large, too_slow
from llmops.proxy.governance import shown
from llmops.proxy.guard import refuse_when_full
from llmops.proxy.lean_head import Head, may_become, parse_head
from llmops.proxy.serve_routes import forward

if TYPE_CHECKING:
    from llmops.proxy.connections import GuardedRequestHandler
    from llmops.proxy.state import ProxyState

log = logging.getLogger("llmops.proxy")
PIPELINE_BYTES: Final = 64 * 1024
_REASONS: Final = {status.value: status.phrase for status in HTTPStatus}
_FIELD_NAME: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CONTROL: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_CRLF2: Final = b"\r\n\r\n"
# held here: compiled, `time.time` is an attribute lookup on the module at every call
_WALL_CLOCK: Final = time.time


class _Date:
    """The Date header's line, made once a second."""

    __slots__ = ("line", "second")

    def __init__(self) -> None:
        self.second = -1
        self.line = b""

    def get(self) -> bytes:
        now = int(_WALL_CLOCK())
        if now != self.second:
            self.second = now
            self.line = f"Date: {formatdate(now, usegmt=True)}\r\n".encode()
        return self.line


_DATE: Final = _Date()
# what _head writes for a 200 with a JSON body and no other header, up to the length's digits
_JSON_200: Final = f"HTTP/1.1 200 OK\r\nContent-Type: {envelope.JSON}\r\nContent-Length: ".encode()


def _head_lines(
    status: int, fields: list[str], headers: Mapping[str, str] | None, close: bool
) -> bytes:
    """An answer's head up to its Date line. **Raises:** ``ValueError`` for a header that would
    break the head."""
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n", *fields]
    if headers:
        for name, value in headers.items():
            if _FIELD_NAME.fullmatch(name) is None or _CONTROL.search(value) is not None:
                raise ValueError(f"header {name!r} holds a character a head cannot carry")
            lines.append(f"{name}: {value}\r\n")
    if close:
        lines.append("Connection: close\r\n")
    return "".join(lines).encode()


def _head(status: int, fields: list[str], headers: Mapping[str, str] | None, close: bool) -> bytes:
    """An answer's head. **Raises:** ``ValueError`` for a header that would break the head."""
    return _head_lines(status, fields, headers, close) + _DATE.get() + b"\r\n"


# A stream's head up to its Date line, by its headers: a few sets (the event stream's own, with a
# canary's or an experiment's variant), each made and checked once rather than for every stream.
_STREAM_HEADS: dict[tuple[tuple[tuple[str, str], ...], bool], bytes] = {}
_STREAM_HEADS_HELD: Final = 256


def _stream_head(headers: Mapping[str, str], close: bool) -> bytes:
    key = (tuple(headers.items()), close)
    lines = _STREAM_HEADS.get(key)
    if lines is None:
        lines = _head_lines(200, ["Transfer-Encoding: chunked\r\n"], headers, close)
        if len(_STREAM_HEADS) >= _STREAM_HEADS_HELD:
            _STREAM_HEADS.clear()
        _STREAM_HEADS[key] = lines
    return lines + _DATE.get() + b"\r\n"


class Front:
    """The connections one listening socket's own server holds, and what they share: the proxy's
    state, and how to hand a connection over to aiohttp."""

    def __init__(self, state: ProxyState, handover: Callable[[], GuardedRequestHandler]):
        self.state = state
        self.handover = handover
        self.held: set[InferenceConnection] = set()  # not handed over
        self.closing = False

    def __call__(self) -> InferenceConnection:
        return InferenceConnection(self)

    async def shutdown(self, timeout: float) -> None:
        """Close idle connections, let inference requests in flight (this server's and aiohttp's)
        finish within ``timeout``, then cancel those that have not: each tells its caller the
        proxy stopped (`Exchange.stopped`) within `LAST_WORDS_SECONDS`."""
        self.closing = True
        for connection in list(self.held):
            if not connection.serving:
                connection.force_close()
        tasks = [c.task for c in self.held if c.serving and c.task is not None]
        tasks += self.state.aiohttp_calls
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        # those still running, and requests that came during the wait
        tasks += [c.task for c in self.held if c.task is not None]
        cancelled = {task for task in tasks if not task.done()}
        for task in cancelled:
            task.cancel()
        if cancelled:
            await asyncio.wait(cancelled, timeout=LAST_WORDS_SECONDS)
        for connection in list(self.held):
            connection.force_close()


class InferenceConnection(asyncio.Protocol):
    """One client connection while the proxy's own server holds it."""

    __slots__ = (
        "_body_waiter",
        "_body_wanted",
        "_buffer",
        "_drain_waiter",
        "_head_waiter",
        "_idle_since",
        "_keepalive",
        "_pending",
        "_reading_paused",
        "_scanned",
        "_writing_paused",
        "front",
        "loop",
        "serving",
        "task",
        "transport",
    )

    def __init__(self, front: Front):
        self.front = front
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        # the connection's task, serving its requests one after the other; ``serving`` while one
        # is being served (between two, the task waits for the next head in ``_head_waiter``)
        self.task: asyncio.Task[None] | None = None
        self.serving = False
        self._head_waiter: asyncio.Future[Head | None] | None = None
        self._pending: Head | None = None  # a head read while the request before it ends
        self._buffer = bytearray()
        self._scanned = 0  # bytes of the buffer searched for a head's end
        self._body_wanted = 0
        self._body_waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._reading_paused = False
        self._writing_paused = False
        self._idle_since = 0.0
        self._keepalive: asyncio.TimerHandle | None = None

    # -- the connection's life --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        guard = self.front.state.connections
        transport = cast(asyncio.Transport, transport)  # uvloop's is one without subclassing it
        if not guard.admit(self, transport):
            refuse_when_full(transport, guard.cap)
            return
        self.transport = transport
        tcp_nodelay(transport, True)
        # a write waits for the caller beyond this, within write_timeout
        transport.set_write_buffer_limits(high=WRITE_BUFFER_BYTES)
        self.front.held.add(self)
        self._idle_since = self.loop.time()
        self._keepalive = self.loop.call_at(
            self._idle_since + self.front.state.options.keepalive_timeout, self._on_keepalive
        )

    def connection_lost(self, exc: BaseException | None) -> None:
        if self.transport is None:  # refused, or handed over
            return
        self.transport = None
        self.front.held.discard(self)
        self.front.state.connections.closed(self)
        if self._keepalive is not None:
            self._keepalive.cancel()
            self._keepalive = None
        if self.task is not None:  # the caller went away: its request (and upstream call) ends
            self.task.cancel()

    def force_close(self) -> None:
        """Close the connection now (the guard evicting it, its head late, shutdown)."""
        if self.transport is not None:
            self.transport.close()

    def _on_keepalive(self) -> None:
        self._keepalive = None
        transport = self.transport
        if transport is None:
            return
        now = self.loop.time()
        due = self._idle_since + self.front.state.options.keepalive_timeout
        if not self.serving and not self._buffer and now >= due:
            transport.close()
            return
        if self.serving or self._buffer:  # busy, or a head arriving (its own timeout)
            due = now + self.front.state.options.keepalive_timeout
        self._keepalive = self.loop.call_at(due, self._on_keepalive)

    # -- reading ------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self.transport is None:
            return
        buffer = self._buffer
        buffer += data
        if not self.serving:
            self.front.state.connections.received(self, self.loop.time())
            self._next()
            return
        if len(buffer) >= self._body_wanted:
            waiter = self._body_waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            if len(buffer) > self._body_wanted + PIPELINE_BYTES and not self._reading_paused:
                self._reading_paused = True
                self.transport.pause_reading()

    def _next(self) -> None:
        """Start serving the next request in the buffer, if its head is complete."""
        buffer = self._buffer
        if not buffer:
            return
        end = buffer.find(_CRLF2, max(0, self._scanned - 3))
        if end < 0:
            self._scanned = len(buffer)
            if not may_become(bytes(buffer)):
                self._hand_over()
            return
        self._scanned = 0
        head = parse_head(bytes(buffer[: end + 2]))
        if head is None:
            self._hand_over()
            return
        del buffer[: end + 4]
        self.front.state.connections.request_started(self)
        self._start(head)

    def _start(self, head: Head) -> None:
        """Serve ``head`` in the connection's task: the one waiting for it, or a new one."""
        self.serving = True
        waiter = self._head_waiter
        if waiter is not None and not waiter.done():
            self._head_waiter = None
            waiter.set_result(head)
        elif self.task is not None:  # the task is ending the request before (pipelined)
            self._pending = head
        else:
            self.task = self.loop.create_task(self._work(head))

    async def _work(self, head: Head) -> None:
        """Serve the connection's requests, one after the other, and wait for each next head: one
        task for the connection rather than one per request (a task made and ended for each cost
        about 4,300 instructions more than waking this one, much of it asyncio's registry of
        tasks, in Python)."""
        try:
            while True:
                await self._serve(head)
                pending = self._pending
                if pending is not None:
                    self._pending = None
                    head = pending
                    continue
                if self.transport is None:  # closed, or handed over to aiohttp
                    return
                waiter: asyncio.Future[Head | None] = self.loop.create_future()
                self._head_waiter = waiter
                following = await waiter
                if following is None:
                    return
                head = following
        finally:
            self.task = None
            self._head_waiter = None
            self._pending = None

    def _hand_over(self) -> None:
        """Give the connection, and every byte of the request begun, to aiohttp for good."""
        transport = self.transport
        assert transport is not None
        front = self.front
        if front.closing:
            transport.close()
            return
        handler = front.handover()
        waiter = self._head_waiter
        if waiter is not None:  # the connection's task ends: aiohttp's handler serves it now
            self._head_waiter = None
            if not waiter.done():
                waiter.set_result(None)
        front.held.discard(self)
        front.state.connections.replace(self, handler)
        if self._keepalive is not None:
            self._keepalive.cancel()
            self._keepalive = None
        self.transport = None
        data = bytes(self._buffer)
        self._buffer.clear()
        transport.set_protocol(handler)
        handler.connection_made(transport)
        if self._reading_paused:
            transport.resume_reading()
        if self._writing_paused:
            handler.pause_writing()
        handler.data_received(data)

    async def read_body(self, length: int, timeout: float) -> bytes:
        """The next ``length`` bytes, within ``timeout``. **Raises:** ``BodyRefused``."""
        limit = self.front.state.max_request_bytes
        if length > limit:
            raise too_large(limit)
        buffer = self._buffer
        if len(buffer) < length:
            self._body_wanted = length
            self._body_waiter = self.loop.create_future()
            try:
                async with within(self.loop, self.loop.time() + timeout):
                    await self._body_waiter
            except TimeoutError:
                raise too_slow(timeout) from None
            finally:
                self._body_wanted = 0
                self._body_waiter = None
        body = bytes(buffer[:length])
        del buffer[:length]
        return body

    # -- writing ------------------------------------------------------------------------------

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def write(self, data: bytes, deadline: float) -> None:
        """Write ``data``; when the caller is not reading, wait for it until the loop's time
        ``deadline``. **Raises:** ``ClientStalled`` (the connection is aborted), ``ClientGone``."""
        transport = self.transport
        if transport is None or transport.is_closing():
            raise ClientGone()
        transport.write(data)
        if not self._writing_paused:
            return
        self._drain_waiter = self.loop.create_future()
        try:
            async with within(self.loop, deadline):
                await self._drain_waiter
        except TimeoutError:
            transport.abort()
            raise ClientStalled() from None
        finally:
            self._drain_waiter = None

    # -- serving ------------------------------------------------------------------------------

    async def _serve(self, head: Head) -> None:
        front = self.front
        state = front.state
        exchange = LeanExchange(self, head)
        try:
            await forward(exchange, state, head.name, head.kind, head.openai)
        except ClientStalled:
            state.metrics.connection_closed("write_timeout")
        except ClientGone:
            pass
        except Exception as error:
            log.error(
                "internal error serving POST %s: %s: %s",
                shown(head.name),
                type(error).__name__,
                shown(str(error)),
                exc_info=bool(os.environ.get("LLMOPS_DEBUG")),
            )
            await self._fail(exchange, head)
        finally:
            state.connections.request_finished(self)
            self.serving = False
        self._after(exchange, head)

    async def _fail(self, exchange: LeanExchange, head: Head) -> None:
        """The 500 for a bug, when no part of an answer is out; else the connection is cut."""
        if exchange.started:
            if self.transport is not None:
                self.transport.abort()
            return
        exchange.close = True
        with contextlib.suppress(ClientStalled, ClientGone):
            await exchange.send(
                500,
                envelope.failure_body(
                    500, "internal error in the llmops proxy (see its log)", openai=head.openai
                ),
                None,
            )

    def _after(self, exchange: LeanExchange, head: Head) -> None:
        """Carry on with the next request, or close the connection."""
        transport = self.transport
        if transport is None:
            return
        if exchange.close or self.front.closing:
            transport.close()
            return
        unread = 0 if exchange.body_read else head.length
        if unread:  # skipped when it has all arrived (as aiohttp does), else the connection ends
            if len(self._buffer) < unread:
                transport.close()
                return
            del self._buffer[:unread]
        if self._reading_paused:
            self._reading_paused = False
            transport.resume_reading()
        self._idle_since = self.loop.time()
        if self._buffer:
            self.front.state.connections.received(self, self._idle_since)
            self._next()


class LeanExchange(Exchange):
    """A request the proxy's own server parsed: its answer is written on the connection here."""

    __slots__ = (
        "_chunked_head",
        "_connection",
        "body_read",
        "close",
        "ended",
        "head",
        "headers",
        "loop",
    )

    def __init__(self, connection: InferenceConnection, head: Head):
        self._connection = connection
        self.loop = connection.loop
        self.head = head
        self.headers = head.headers
        self.close = head.close  # the connection ends after the answer
        self.body_read = False
        self.ended = False
        self._chunked_head: bytes | None = None  # a stream's head, written with its first piece

    @property
    def started(self) -> bool:
        """Whether some of the answer is out (or held to go out with a stream's first piece)."""
        return self._chunked_head is not None or self.ended

    async def read_body(self, timeout: float) -> bytes:
        body = await self._connection.read_body(self.head.length, timeout)
        self.body_read = True
        return body

    def _options_write_timeout(self) -> float:
        return self._connection.front.state.write_timeout

    async def send(
        self, status: int, body: bytes, headers: Mapping[str, str] | None, close: bool = False
    ) -> None:
        connection = self._connection
        self.close = self.close or close
        if status == 200 and not headers and not self.close and not connection.front.closing:
            # most answers: the head's fixed part made once
            head = b"%b%d\r\n%b\r\n" % (_JSON_200, len(body), _DATE.get())
        else:
            head = _head(
                status,
                [f"Content-Type: {envelope.JSON}\r\n", f"Content-Length: {len(body)}\r\n"],
                headers,
                self.close or connection.front.closing,
            )
        self.ended = True
        write_timeout = self._options_write_timeout()
        loop = connection.loop
        if len(body) <= PIECE_BYTES:  # the head and the body in one write
            await connection.write(head + body, loop.time() + write_timeout)
            return
        await connection.write(head, loop.time() + write_timeout)
        view = memoryview(body)
        for start in range(0, len(body), PIECE_BYTES):
            await connection.write(
                bytes(view[start : start + PIECE_BYTES]), loop.time() + write_timeout
            )

    async def start_stream(self, headers: Mapping[str, str]) -> None:
        self._chunked_head = _stream_head(headers, self._connection.front.closing)

    def _framed(self, data: bytes) -> bytes:
        head, self._chunked_head = self._chunked_head or b"", b""
        return head + f"{len(data):x}\r\n".encode() + data + b"\r\n"

    async def write(self, data: bytes, deadline: float) -> None:
        if data and not self.ended:
            await self._connection.write(self._framed(data), deadline)

    async def end(self, data: bytes, deadline: float) -> None:
        if self.ended:
            return
        self.ended = True
        framed = self._framed(data) if data else self._chunked_head or b""
        await self._connection.write(framed + b"0\r\n\r\n", deadline)

    def answered(self) -> bool | None:
        return True if self.ended else None if self._chunked_head is not None else False

    async def finish(self) -> None:
        if self.ended:
            return
        self.ended = True
        head, self._chunked_head = self._chunked_head or b"", b""
        await self._connection.write(
            head + b"0\r\n\r\n", self._connection.loop.time() + self._options_write_timeout()
        )
