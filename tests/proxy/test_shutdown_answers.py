"""What a caller hears when the proxy stops (a rollout, a scale-in) while its request is still
running after the shutdown's grace period: a stream ends with an error event that says so, and a
request not yet answered gets a 503 with Retry-After, which the `openai` client retries. Before,
both found their connection closed without a word (the `openai` client raised a protocol error).
Both of the proxy's HTTP servers: its own (plain inference requests) and aiohttp's (the rest)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import openai
import pytest

from llmops.proxy import server
from llmops.proxy.options import ProxyOptions
from llmops.proxy.serve_routes import STOPPED
from llmops.proxy.server import running_proxy
from tests.helpers.loopback import FakeModelServer, serving
from tests.proxy.conftest import USER, config_of, document, endpoint

GRACE = 0.5  # the shutdown's grace period in these tests (10 s in a real proxy)


@pytest.fixture(autouse=True)
def short_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "SHUTDOWN_SECONDS", GRACE)


def _proxy(mode: str, delay: float = 0.0) -> Iterator[tuple[str, AbstractContextManager[str]]]:
    with serving(FakeModelServer(mode=mode, delay=delay)) as model:
        context = running_proxy(config_of(document(endpoint("chat", model.url))), ProxyOptions())
        url = context.__enter__()
        try:
            yield url, context
        finally:
            context.__exit__(None, None, None)


@pytest.fixture
def stalling() -> Iterator[tuple[str, AbstractContextManager[str]]]:
    """A proxy whose model server sends a stream's first event, then nothing."""
    yield from _proxy("stall")


@pytest.fixture
def slow() -> Iterator[tuple[str, AbstractContextManager[str]]]:
    """A proxy whose model server takes a minute to answer."""
    yield from _proxy("slow", delay=60)


def _stop_soon(context: AbstractContextManager[str], after: float) -> threading.Thread:
    def stop() -> None:
        time.sleep(after)
        context.__exit__(None, None, None)

    stopper = threading.Thread(target=stop)
    stopper.start()
    return stopper


def _client(url: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{url}/llm-ops/v1/serve/chat/v1",
        api_key="unused",
        default_headers=USER,
        max_retries=0,
        timeout=30,
    )


QUESTION: Any = [{"role": "user", "content": "hi"}]


def test_a_stream_cut_by_the_shutdown_ends_with_an_event_saying_so(
    stalling: tuple[str, AbstractContextManager[str]],
) -> None:
    url, context = stalling
    stream = _client(url).chat.completions.create(model="m", messages=QUESTION, stream=True)
    chunks = iter(stream)
    next(chunks)  # the first event came; the model server sends nothing more
    started = time.monotonic()
    stopper = _stop_soon(context, 0.1)
    with pytest.raises(openai.APIError) as cut:
        for _ in chunks:
            pass
    stopper.join(10)
    assert STOPPED in str(cut.value.message)
    assert time.monotonic() - started < GRACE + 5


def test_a_request_not_answered_by_the_shutdown_gets_a_503_to_retry(
    slow: tuple[str, AbstractContextManager[str]],
) -> None:
    url, context = slow
    stopper = _stop_soon(context, 0.3)
    with pytest.raises(openai.APIStatusError) as refused:
        _client(url).chat.completions.create(model="m", messages=QUESTION)
    stopper.join(10)
    assert refused.value.status_code == 503
    assert refused.value.response.headers["retry-after"] == "1"
    assert refused.value.response.headers["connection"] == "close"
    assert STOPPED in str(refused.value.message)


def test_the_same_through_aiohttps_server(
    stalling: tuple[str, AbstractContextManager[str]],
) -> None:
    """A request outside the proxy's own server's subset (here: a chunked request body) is
    aiohttp's to serve; its stream ends the same way, and its body is properly ended."""
    url, context = stalling
    host, port = url.removeprefix("http://").split(":")
    body = json.dumps({"model": "m", "messages": QUESTION, "stream": True}).encode()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /llm-ops/v1/serve/chat/v1/chat/completions HTTP/1.1\r\nHost: proxy\r\n"
            b"X-User-Id: u1\r\nX-User-Roles: llm-ops-user\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
            + f"{len(body):x}\r\n".encode()
            + body
            + b"\r\n0\r\n\r\n"
        )
        received = b""
        while b"data: " not in received:  # the first event
            received += sock.recv(65536)
        stopper = _stop_soon(context, 0.1)
        while piece := sock.recv(65536):
            received += piece
        stopper.join(10)
    head, _, chunked = received.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    events = _unchunked(chunked).split(b"\n\n")
    last = json.loads(events[-2].removeprefix(b"data: "))
    assert last["error"]["message"] == STOPPED
    assert last["error"]["code"] == 503


def _unchunked(data: bytes) -> bytes:
    """A chunked body's content; it must end with its last, empty chunk."""
    content = b""
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            assert data == b"\r\n", "the body did not end properly"
            return content
        content += data[:size]
        assert data[size : size + 2] == b"\r\n"
        data = data[size + 2 :]
