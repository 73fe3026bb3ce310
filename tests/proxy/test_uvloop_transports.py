"""The proxy runs on uvloop, whose transports have asyncio's transport methods without being its
subclasses; the in-process proxies of the other tests run on asyncio's own loop. On uvloop too, the
answers the guard writes itself (a 408 for a head that never ends, a 503 when every connection is
busy) reach the caller, and the write buffer of a connection is bounded."""

from __future__ import annotations

import asyncio

import pytest

from llmops.proxy.delivery import WRITE_BUFFER_BYTES
from llmops.proxy.guard import raw_answer, refuse_when_full, writable

uvloop = pytest.importorskip("uvloop")


def _answer_on_connect(answer: object) -> bytes:
    """What a client reads from a server whose protocol answers with ``answer(transport)`` as soon
    as the connection is made, on uvloop."""

    class Answering(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            answer(transport)  # type: ignore[operator]

    async def main() -> bytes:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Answering, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        received = await asyncio.wait_for(reader.read(), 5)  # until the server closes
        writer.close()
        server.close()
        return received

    return uvloop.run(main())  # type: ignore[no-any-return]


def test_the_408_for_a_late_head_is_written_on_uvloop() -> None:
    received = _answer_on_connect(lambda transport: raw_answer(transport, 408, "too late"))
    assert received.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b'"message":"too late"' in received


def test_the_503_for_a_full_proxy_is_written_on_uvloop() -> None:
    received = _answer_on_connect(lambda transport: refuse_when_full(transport, 3))
    assert received.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"the proxy has 3 connections, all busy" in received


def test_a_uvloop_connection_gets_the_bounded_write_buffer() -> None:
    limits: list[tuple[int, int]] = []

    def bound(transport: asyncio.BaseTransport) -> None:
        writer = writable(transport)
        assert writer is not None and not isinstance(transport, asyncio.WriteTransport)
        writer.set_write_buffer_limits(high=WRITE_BUFFER_BYTES)
        limits.append(writer.get_write_buffer_limits())
        transport.close()

    _answer_on_connect(bound)
    assert limits and limits[0][1] == WRITE_BUFFER_BYTES
