"""Real HTTP servers on 127.0.0.1 for proxy tests: a scriptable OpenAI-style model server that can
misbehave on purpose, a plain HTTP client, and a free port with nothing listening."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

CHUNK = (
    'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"%s","choices":'
    '[{"index":0,"delta":{"content":"%s"},"finish_reason":null}]}\n\n'
)


def free_port() -> int:
    """A port nothing listens on (bound once, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class FakeModelServer:
    """An OpenAI-compatible model server with KServe's (`/openai/v1`, `/v1/models/<name>`) and
    vLLM's (`/v1`, `/health`) routes. ``mode`` says how it answers:

    ok · slow (waits ``delay`` s) · error500 · empty500 (no body) · bad_json · reject (400 with an
    OpenAI error) · reject_plain (404 with a non-OpenAI body, as KServe's own 404) · cut (a stream
    cut off mid-way) · no_done (a stream ending without [DONE]) · stall (a stream that stops
    sending) · drip (a long stream, one chunk every 50 ms) · not_ready (readiness says no) ·
    gzip_bomb (a small gzip answer, readiness included, that decodes to ``bomb_bytes``) · redirect
    (302 to ``redirect_to``) · done_in_content (a stream whose content says `data: [DONE]`, then
    ends; ``done_in_content_cut``: then is cut) · late_start (a stream whose first piece comes after
    ``delay`` s) · teapot (418 with a text/plain body) · stream_events (a stream of exactly the
    ``events`` given, bytes as they are, then the end) · gzip_stream (a gzip-compressed stream that
    decodes to ``bomb_bytes`` of events) · big (a chat answer of about ``bomb_bytes``,
    uncompressed) · raw (a 200 of exactly the ``raw_body`` given, as JSON)
    """

    mode: str = "ok"
    delay: float = 0.0
    url: str = ""
    bomb_bytes: int = 16 * 1024 * 1024
    redirect_to: str = ""
    events: list[bytes] = field(default_factory=list)
    raw_body: bytes = b""
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[CIMultiDict[str]] = field(default_factory=list)  # case-insensitive, as HTTP
    # the client address of each request: which connection
    peers: list[Any] = field(default_factory=list)
    cancelled: list[float] = field(default_factory=list)  # when a handler was cut off by its client

    def _bomb(self, document: dict[str, Any]) -> web.Response:
        """gzip of the document padded with ``bomb_bytes`` of spaces (still valid JSON once
        decoded), compressed piece by piece so the padding is never held here."""
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip format
        text = json.dumps(document).encode()
        parts = [compressor.compress(text[:-1])]
        block = b" " * (1024 * 1024)
        for _ in range(self.bomb_bytes // len(block)):
            parts.append(compressor.compress(block))
        parts.append(compressor.compress(b"}") + compressor.flush())
        return web.Response(
            body=b"".join(parts),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )

    async def _completion(self, request: web.Request) -> web.StreamResponse:
        self.peers.append(
            request.transport.get_extra_info("peername") if request.transport else None
        )
        body = await request.json()
        self.requests.append(body)
        self.headers.append(CIMultiDict(request.headers))
        try:
            return await self._answer(request, body)
        except (asyncio.CancelledError, ConnectionResetError):
            self.cancelled.append(time.monotonic())
            raise

    async def _answer(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        model = body.get("model", "")
        if self.mode == "slow":
            await asyncio.sleep(self.delay)
        if self.mode == "error500":
            return web.Response(status=500, text="boom: out of memory")
        if self.mode == "empty500":
            return web.Response(status=500)
        if self.mode == "bad_json":
            return web.Response(text="this is {not json", content_type="application/json")
        if self.mode == "raw":
            return web.Response(body=self.raw_body, content_type="application/json")
        if self.mode == "reject":
            return web.json_response({"error": {"message": "the model refuses this"}}, status=400)
        if self.mode == "reject_plain":
            return web.json_response({"detail": "Not Found"}, status=404)
        if self.mode == "redirect":
            raise web.HTTPFound(self.redirect_to + request.path)
        if self.mode == "big":
            padding = "x" * self.bomb_bytes
            return web.json_response(
                {"id": "c1", "object": "chat.completion", "model": model, "padding": padding}
            )
        if self.mode == "teapot":
            return web.Response(status=418, text="I'm a teapot\n", content_type="text/plain")
        if self.mode == "gzip_bomb":
            return self._bomb(
                {"id": "c1", "object": "chat.completion", "model": model, "choices": []}
            )
        if self.mode == "gzip_stream":
            return await self._gzip_stream(request, model)
        if body.get("stream"):
            return await self._stream(request, model)
        if request.path.endswith("/embeddings"):
            return web.json_response(
                {
                    "object": "list",
                    "model": model,
                    "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
                }
            )
        messages = body.get("messages") or []
        system = next((m["content"] for m in messages if m.get("role") == "system"), None)
        text = (
            f"system={system!r} "
            f"user={messages[-1]['content'] if messages else body.get('prompt')!r}"
        )
        return web.json_response(
            {
                "id": "c1",
                "object": "chat.completion",
                "created": 1,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 3, "completion_tokens": 7, "total_tokens": 10},
            }
        )

    async def _stream(self, request: web.Request, model: str) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        if self.mode == "late_start":
            await asyncio.sleep(self.delay)
        if self.mode == "stream_events":
            *events, last = self.events or [b""]
            for event in events:
                await response.write(event)
            # the last event and the body's end in one write, as servers that buffer send them: the
            # proxy then sees the end with [DONE], and whether it pools the connection does not
            # depend on when the end's own packet arrives
            await response.write_eof(last)
            return response
        if self.mode in ("done_in_content", "done_in_content_cut"):
            await response.write((CHUNK % (model, "data: [DONE]")).encode())
            if self.mode == "done_in_content_cut":
                assert request.transport is not None
                request.transport.abort()
                return response
            await response.write_eof()  # the body ends cleanly, without OpenAI's own closing line
            return response
        count = 200 if self.mode == "drip" else 3
        for index in range(count):
            await response.write((CHUNK % (model, f"w{index} ")).encode())
            if self.mode == "drip":
                await asyncio.sleep(0.05)
            if index == 1 and self.mode == "cut":
                assert request.transport is not None
                # the connection drops mid-stream, chunked body unfinished
                request.transport.abort()
                return response
            if index == 0 and self.mode == "stall":
                await asyncio.sleep(3600)
        if self.mode != "no_done":
            await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _gzip_stream(self, request: web.Request, model: str) -> web.StreamResponse:
        """Events of ``bomb_bytes`` once decoded, a few hundred KiB on the wire."""
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
        block = (CHUNK % (model, "x" * 200)).encode() * 4096
        parts = [compressor.compress(block) for _ in range(self.bomb_bytes // len(block) + 1)]
        parts.append(compressor.compress(b"data: [DONE]\n\n") + compressor.flush())
        return web.Response(
            body=b"".join(parts),
            headers={"Content-Type": "text/event-stream", "Content-Encoding": "gzip"},
        )

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "object": "list",
                "data": [{"id": "served", "object": "model", "created": 1, "owned_by": ""}],
            }
        )

    async def _ready(self, request: web.Request) -> web.Response:
        if self.mode == "gzip_bomb":
            return self._bomb({"name": request.match_info.get("name", ""), "ready": True})
        if self.mode == "redirect":
            raise web.HTTPFound(self.redirect_to + request.path)
        ready = self.mode != "not_ready"
        if request.path == "/health":
            return web.Response(status=200 if ready else 503)
        return web.json_response({"name": request.match_info["name"], "ready": ready})

    def app(self) -> web.Application:
        app = web.Application()
        for prefix in ("/openai/v1", "/v1"):
            app.router.add_post(
                prefix + "/{path:chat/completions|completions|embeddings}", self._completion
            )
            app.router.add_get(prefix + "/models", self._models)
        app.router.add_get("/v1/models/{name}", self._ready)
        app.router.add_get("/health", self._ready)
        return app


@contextlib.contextmanager
def serving(server: FakeModelServer) -> Iterator[FakeModelServer]:
    """Run ``server`` on a free loopback port in a background thread while the block runs."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    async def start() -> web.AppRunner:
        runner = web.AppRunner(server.app(), handler_cancellation=True, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        return runner

    def run() -> None:
        asyncio.set_event_loop(loop)
        holder["runner"] = loop.run_until_complete(start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(holder["runner"].cleanup())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10), "the fake model server did not start"
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    method: str,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Reply:
    """One HTTP request; error statuses are returned, not raised."""
    data = (
        None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    )
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, dict(error.headers), error.read())


def wait_until(condition: Any, timeout: float = 5.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


@dataclass
class RawReply:
    """An answer read off a socket: ``status`` 0 when the server closed without answering."""

    status: int
    head: str
    body: bytes
    closed: bool  # the server closed the connection after it

    def json(self) -> Any:
        return json.loads(self.body)


def raw_exchange(url: str, payload: bytes, timeout: float = 5.0) -> RawReply:
    """Send ``payload`` as is on a new connection and read one answer (by its Content-Length), then
    whether the server closes the connection within ``timeout``."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(payload)
        return read_answer(sock, timeout)


def read_answer(sock: socket.socket, timeout: float = 5.0) -> RawReply:
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            piece = sock.recv(65536)
            if not piece:
                return RawReply(0, data.decode("latin-1"), b"", True)
            data += piece
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(body) < length:
            piece = sock.recv(65536)
            if not piece:
                break
            body += piece
        try:
            closed = sock.recv(1) == b""
        except TimeoutError:
            closed = False
        except ConnectionResetError:
            closed = True
    except ConnectionResetError:
        return RawReply(0, data.decode("latin-1"), b"", True)
    return RawReply(int(head.split(b" ", 2)[1]), head.decode("latin-1"), body, closed)
