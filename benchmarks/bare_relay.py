"""The least a Python relay can do, as a yardstick for `bench_proxy.py`: what the interpreter,
asyncio and uvloop cost by themselves, so the gap between nginx and `llmops proxy` can be split
into what Python costs and what llmops's own work (checks, limits, metrics) costs.

It relays the benchmark's traffic only, and checks nothing: a POST with a Content-Length, its path's
`/llm-ops/v1/serve/NAME/` prefix mapped to the model server's `/openai/`, sent on over a pooled
keep-alive connection; the answer's bytes written to the caller as they arrive, until its
Content-Length is complete or, for a chunked answer (a stream), its last chunk has come. Each
request runs as a task awaiting a future, as llmops's own does. Never use it for anything else.

Usage: ``python benchmarks/bare_relay.py UPSTREAM_PORT PORT``
"""

from __future__ import annotations

import asyncio
import re
import sys

_PREFIX = re.compile(rb"^(POST )/llm-ops/v1/serve/[^/]+/v1/")
_LENGTH = re.compile(rb"\r\ncontent-length: *(\d+)\r\n", re.IGNORECASE)
_LAST_CHUNK = b"\r\n0\r\n\r\n"


class _Upstream(asyncio.Protocol):
    """One pooled connection to the model server; relays one answer at a time to ``caller``."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.caller: asyncio.Transport | None = None
        self.done: asyncio.Future[None] | None = None
        self._head: bytes | None = b""  # None once the answer's head has been read
        self._left = -1  # bytes of a Content-Length body still to come; -1: chunked
        self._tail = b""  # the last bytes of a chunked body, where its end may be split

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, request: bytes, caller: asyncio.Transport) -> asyncio.Future[None]:
        assert self.transport is not None
        self.caller, self._head, self._tail = caller, b"", b""
        self.done = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.done

    def data_received(self, data: bytes) -> None:
        assert self.caller is not None and self.done is not None
        self.caller.write(data)
        if self._head is not None:
            head = self._head + data
            end = head.find(b"\r\n\r\n")
            if end < 0:
                self._head = head
                return
            length = _LENGTH.search(head, 0, end + 2)
            self._left = -1 if length is None else int(length[1])
            data = head[end + 4 :]
            self._head = None
        if self._left >= 0:
            self._left -= len(data)
            finished = self._left <= 0
        else:
            self._tail = (self._tail + data)[-len(_LAST_CHUNK) :]
            finished = self._tail.endswith(_LAST_CHUNK)
        if finished and not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(ConnectionError("the model server closed the connection"))


class _Caller(asyncio.Protocol):
    """One caller's connection: one request at a time, relayed over a pooled connection."""

    def __init__(self, pool: list[_Upstream], upstream_port: int) -> None:
        self.pool = pool
        self.upstream_port = upstream_port
        self.transport: asyncio.Transport | None = None
        self._buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        length = _LENGTH.search(self._buffer, 0, end + 2)
        size = end + 4 + (int(length[1]) if length else 0)
        if len(self._buffer) < size:
            return
        request, self._buffer = self._buffer[:size], self._buffer[size:]
        asyncio.get_running_loop().create_task(self._relay(_PREFIX.sub(rb"\1/openai/v1/", request)))

    async def _relay(self, request: bytes) -> None:
        assert self.transport is not None
        upstream = None
        while self.pool and upstream is None:  # one the model server closed while idle: dropped
            pooled = self.pool.pop()
            if pooled.transport is not None and not pooled.transport.is_closing():
                upstream = pooled
        if upstream is None:
            loop = asyncio.get_running_loop()
            _, upstream = await loop.create_connection(_Upstream, "127.0.0.1", self.upstream_port)
        try:
            await upstream.send(request, self.transport)
        except ConnectionError:
            self.transport.close()
            return
        self.pool.append(upstream)


async def _serve(upstream_port: int, port: int) -> None:
    pool: list[_Upstream] = []
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Caller(pool, upstream_port), "127.0.0.1", port)
    await server.serve_forever()


def main() -> None:
    import uvloop

    uvloop.run(_serve(int(sys.argv[1]), int(sys.argv[2])))


if __name__ == "__main__":
    main()
