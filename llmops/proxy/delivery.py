"""Writing answers to callers with bounded waits, so that a caller who stops reading costs neither
a concurrency slot nor memory for longer than ``write_timeout``.

aiohttp writes a handler's answer after the handler returns, waiting as long as the caller takes to
read it: twenty callers that never read a 30 MB answer held 2 GB, and a stream to a caller that
stopped reading held its model-server connection and its endpoint's slot for good. So:

- a client connection buffers at most ``WRITE_BUFFER_BYTES`` in the proxy before a write waits for
  the caller (the kernel's socket buffer comes on top);
- every answer with a body is written here, in pieces of ``PIECE_BYTES``, each of which the caller
  must take within ``write_timeout`` (a stream's events likewise, and never past the stream's end);
- a caller that does not is cut off (the connection is aborted, discarding what is buffered for it)
  and counted in `llmops_proxy_connections_closed_total{reason="write_timeout"}`.

Whole answers of model servers are also counted against ``AnswerBudget`` while they are held (read,
then written), so memory stays bounded however many callers stall.
"""

from __future__ import annotations

import asyncio
from typing import Final

import aiohttp
from aiohttp import web

WRITE_BUFFER_BYTES: Final = 16 * 1024
PIECE_BYTES: Final = 64 * 1024
# a request cut by the server's shutdown gets this long to tell its caller so (Exchange.stopped)
LAST_WORDS_SECONDS: Final = 1.0


class ClientGone(Exception):
    """The caller closed its connection while an answer was being written."""


class ClientStalled(Exception):
    """The caller did not take a piece of an answer in time; its connection has been aborted."""


def cut_off(request: web.BaseRequest) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


async def write_within(
    request: web.BaseRequest, response: web.StreamResponse, data: bytes, deadline: float
) -> None:
    """Write ``data`` before the loop's time ``deadline``. **Raises:** ``ClientStalled`` (the
    connection is aborted) or ``ClientGone``."""
    if _cannot_wait(request, len(data)):  # most stream events: no timer to set and cancel
        try:
            await response.write(data)
        except (ConnectionError, aiohttp.ClientConnectionError):
            raise ClientGone() from None
        return
    try:
        async with asyncio.timeout_at(deadline):
            await response.write(data)
    except TimeoutError:
        cut_off(request)
        raise ClientStalled() from None
    except (ConnectionError, aiohttp.ClientConnectionError):  # aiohttp's server raises the latter
        raise ClientGone() from None


async def end_within(
    request: web.BaseRequest, response: web.StreamResponse, data: bytes, deadline: float
) -> None:
    """Write ``data`` as the last bytes of a chunked answer: with the answer's end in the same write
    when that cannot wait (a stream's `[DONE]`: one write less per stream), else as
    ``write_within`` (the caller ends the answer). **Raises:** as ``write_within``."""
    if _cannot_wait(request, len(data) + CHUNK_FRAMING_BYTES):
        try:
            await response.write_eof(data)
        except (ConnectionError, aiohttp.ClientConnectionError):
            raise ClientGone() from None
        return
    await write_within(request, response, data, deadline)


# room for a chunk's framing (its size line and line end) beside its data
CHUNK_FRAMING_BYTES: Final = 32
# room for an answer's status line and the headers aiohttp adds, beside the headers and the body
HEAD_BYTES: Final = 1024


def _cannot_wait(request: web.BaseRequest, size: int) -> bool:
    """Whether writing ``size`` bytes to the caller returns at once: a write waits only for a
    connection whose buffer is past its high-water mark (the caller is not reading), so one that
    is not, and stays below the mark with these bytes, needs no deadline."""
    transport, protocol = request.transport, request.protocol
    if transport is None or protocol is None or protocol.writing_paused:
        return False
    high = transport.get_write_buffer_limits()[1]
    return transport.get_write_buffer_size() + size + CHUNK_FRAMING_BYTES <= high


async def deliver(
    request: web.BaseRequest, response: web.StreamResponse, write_timeout: float
) -> web.StreamResponse:
    """Write a handler's whole answer (a ``web.Response`` not yet sent) piece by piece, each within
    ``write_timeout``. **Returns:** the answer as sent, for aiohttp to finish. **Raises:**
    ``ClientStalled``, ``ClientGone``."""
    body = response.body if isinstance(response, web.Response) else None
    if response.prepared or request.method == "HEAD" or not isinstance(body, bytes) or not body:
        return response
    one_piece = len(body) <= PIECE_BYTES  # the head and the body in one write
    head = HEAD_BYTES + sum(len(name) + len(value) + 4 for name, value in response.headers.items())
    if one_piece and _cannot_wait(request, len(body) + head):  # most answers: no timer, and
        try:  # the answer written as it is
            await response.prepare(request)
            await response.write_eof()
        except (ConnectionError, aiohttp.ClientConnectionError):
            raise ClientGone() from None
        return response
    sent = web.StreamResponse(status=response.status, reason=response.reason)
    sent.headers.extend(
        (name, value) for name, value in response.headers.items() if name != "Content-Length"
    )
    sent.content_length = len(body)
    if response.keep_alive is False:
        sent.force_close()
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(write_timeout):
            await sent.prepare(request)
            if one_piece:
                await sent.write_eof(body)
                return sent
    except TimeoutError:
        cut_off(request)
        raise ClientStalled() from None
    except (ConnectionError, aiohttp.ClientConnectionError):
        raise ClientGone() from None
    view = memoryview(body)
    for start in range(0, len(body), PIECE_BYTES):
        await write_within(
            request, sent, bytes(view[start : start + PIECE_BYTES]), loop.time() + write_timeout
        )
    try:
        async with asyncio.timeout(write_timeout):
            await sent.write_eof()
    except TimeoutError:
        cut_off(request)
        raise ClientStalled() from None
    except (ConnectionError, aiohttp.ClientConnectionError):
        raise ClientGone() from None
    return sent


class BudgetExhausted(Exception):
    """Taking more would exceed the bytes the proxy holds for all callers together."""


class AnswerBudget:
    """Bytes of whole answers held at once, across all requests of one proxy (one event loop, so a
    plain counter suffices)."""

    __slots__ = ("held", "limit")

    def __init__(self, limit: int):
        self.limit = limit
        self.held = 0


class Hold:
    """One request's share of an ``AnswerBudget``, given back when its answer has been written."""

    __slots__ = ("budget", "size")

    def __init__(self, budget: AnswerBudget):
        self.budget = budget
        self.size = 0

    def take(self, size: int) -> None:
        """**Raises:** ``BudgetExhausted``."""
        if self.budget.held + size > self.budget.limit:
            raise BudgetExhausted()
        self.budget.held += size
        self.size += size

    def release(self) -> None:
        self.budget.held -= self.size
        self.size = 0
