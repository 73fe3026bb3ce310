"""The proxy's client to model servers reads every HTTP/1.1 framing a server may use, however the
bytes are cut, and reuses a connection only when the answer allows it: against a raw TCP server
that writes exactly the bytes given."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from llmops.proxy.upstream_pool import NotHttp, UpstreamPool

JSON = b"Content-Type: application/json\r\n"


async def _serving(
    answers: list[bytes],
    piece: int,
    test: Callable[[str, list[int]], Awaitable[None]],
    close_each: bool = False,
) -> None:
    """A server answering each request on a connection with the next of ``answers``, written
    ``piece`` bytes at a time (``close_each``: then closing the connection, without saying so);
    ``test`` gets its URL and the client port of each request."""
    peers: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while answers:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                peers.append(writer.get_extra_info("peername")[1])
                answer = answers.pop(0)
                for start in range(0, len(answer), piece):
                    writer.write(answer[start : start + piece])
                    await writer.drain()
                if close_each or b"Connection: close" in answer or answer.startswith(b"HTTP/1.0"):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        await test(f"http://127.0.0.1:{port}/v1/chat/completions", peers)


async def _whole(pool: UpstreamPool, url: str) -> tuple[int, bytes, bool]:
    answer = await pool.request("POST", url, b"{}", JSON, 5.0, 1 << 20)
    chunks = []
    while chunk := await answer.readany():
        chunks.append(chunk)
    reusable = answer.keep_alive
    answer.release()
    return answer.status, b"".join(chunks), reusable


@pytest.mark.parametrize("piece", [1, 3, 1024])
def test_a_chunked_answer_with_extensions_and_trailers_is_read_whole_and_reused(
    piece: int,
) -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: 1\r\n\r\n"
    )

    async def test(url: str, peers: list[int]) -> None:
        pool = UpstreamPool(cap=4, keepalive=4.0)
        assert await _whole(pool, url) == (200, b"hello world", True)
        assert await _whole(pool, url) == (200, b"hello world", True)
        await pool.close()
        assert peers[0] == peers[1]

    asyncio.run(_serving([chunked, chunked], piece, test))


def test_an_answer_that_asks_to_close_or_ends_with_its_connection_is_not_reused() -> None:
    answers = [
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        b'HTTP/1.0 200 OK\r\n\r\n{"a": 1}',  # no length: the body ends with the connection
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
    ]

    async def test(url: str, peers: list[int]) -> None:
        pool = UpstreamPool(cap=4, keepalive=4.0)
        assert await _whole(pool, url) == (200, b"{}", False)
        assert await _whole(pool, url) == (200, b'{"a": 1}', False)
        assert await _whole(pool, url) == (200, b"{}", True)
        await pool.close()
        assert len(set(peers)) == 3

    asyncio.run(_serving(answers, 7, test))


def test_an_answer_head_that_never_ends_is_refused() -> None:
    endless = b"HTTP/1.1 200 OK\r\n" + b"X-Filler: " + b"a" * (70 * 1024)

    async def test(url: str, peers: list[int]) -> None:
        pool = UpstreamPool(cap=4, keepalive=4.0)
        with pytest.raises(NotHttp, match="answer head of more than"):
            await pool.request("POST", url, b"{}", JSON, 5.0, 1 << 20)
        await pool.close()

    asyncio.run(_serving([endless], 4096, test))


def test_at_the_cap_a_request_waits_for_a_connection_to_come_back() -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"

    async def test(url: str, peers: list[int]) -> None:
        pool = UpstreamPool(cap=1, keepalive=4.0)
        results = await asyncio.gather(*(_whole(pool, url) for _ in range(3)))
        assert results == [(200, b"{}", True)] * 3
        await pool.close()
        assert len(set(peers)) == 1  # one connection carried all three, one after the other

    asyncio.run(_serving([ok, ok, ok], 1024, test))


def test_a_pooled_connection_the_server_closed_is_not_used_again() -> None:
    """uvicorn closes idle keep-alive connections without notice: the next request must not be
    sent on one."""
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"

    async def test(url: str, peers: list[int]) -> None:
        pool = UpstreamPool(cap=4, keepalive=4.0)
        assert await _whole(pool, url) == (200, b"{}", True)
        await asyncio.sleep(0.1)  # the close arrives
        assert await _whole(pool, url) == (200, b"{}", True)
        await pool.close()
        assert peers[0] != peers[1]

    asyncio.run(_serving([ok, ok], 1024, test, close_each=True))


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\n{}",  # "²": str.isdigit says yes
        b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n{}",
        b"HTTP/1.1 \xb200 OK\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 042 OK\r\nContent-Length: 2\r\n\r\n{}",
    ],
    ids=[
        "superscript-length",
        "signed-length",
        "5000-digit-length",
        "superscript-status",
        "status-42",
    ],
)
def test_an_answer_head_with_a_malformed_number_is_refused_as_not_http(head: bytes) -> None:
    """A malformed status or length is the model server's fault (a 502 for the caller), never an
    exception escaping the connection's callbacks."""

    async def test(url: str, peers: list[int]) -> None:
        pool = UpstreamPool(cap=4, keepalive=4.0)
        with pytest.raises(NotHttp):
            await pool.request("POST", url, b"{}", JSON, 5.0, 1 << 20)
        await pool.close()

    asyncio.run(_serving([head], 4096, test))


@pytest.mark.parametrize("size", [b"0x2", b"+2", b"2_0", b"\xb2", b"f" * 40, b""])
def test_a_chunk_size_that_is_not_plain_hex_digits_fails_the_body(size: bytes) -> None:
    answer = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + size + b"\r\n{}\r\n0\r\n\r\n"
    )

    async def test(url: str, peers: list[int]) -> None:
        pool = UpstreamPool(cap=4, keepalive=4.0)
        reply = await pool.request("POST", url, b"{}", JSON, 5.0, 1 << 20)
        with pytest.raises(NotHttp, match="bad chunk size"):
            while await reply.readany():
                pass
        reply.close()
        await pool.close()

    asyncio.run(_serving([answer], 4096, test))


@pytest.mark.parametrize(
    "line",
    [b"Content-Type application/json", b": empty-name", b" Server: x", b"Server : x", b"X\x0b: y"],
    ids=["no-colon", "empty-name", "leading-space", "space-before-colon", "control-in-name"],
)
def test_an_answer_head_with_a_malformed_line_is_refused_as_not_http(line: bytes) -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + line + b"\r\n\r\n{}"

    async def test(url: str, peers: list[int]) -> None:
        pool = UpstreamPool(cap=4, keepalive=4.0)
        with pytest.raises(NotHttp, match="malformed header line"):
            await pool.request("POST", url, b"{}", JSON, 5.0, 1 << 20)
        await pool.close()

    asyncio.run(_serving([answer], 4096, test))


def test_a_header_given_twice_counts_with_both_values() -> None:
    """`Connection: keep-alive` then `connection: close`: the second still closes the connection;
    a Content-Length given twice is refused, with the same value or not (the framing is in
    doubt)."""
    answers = [
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\nconnection: close"
        b"\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    ]

    async def test(url: str, peers: list[int]) -> None:
        pool = UpstreamPool(cap=4, keepalive=4.0)
        assert await _whole(pool, url) == (200, b"{}", False)
        with pytest.raises(NotHttp, match="bad Content-Length '2, 2'"):
            await pool.request("POST", url, b"{}", JSON, 5.0, 1 << 20)
        with pytest.raises(NotHttp, match="two different Content-Length"):
            await pool.request("POST", url, b"{}", JSON, 5.0, 1 << 20)
        await pool.close()

    asyncio.run(_serving(answers, 4096, test))
