"""Callers that stop reading: a stream to a caller that does not read, and whole answers of
megabytes to callers that do not read. Each write must be taken within `write_timeout` or the caller
is cut off, releasing the endpoint's concurrency slot and the model-server connection; whole answers
held at once are bounded for all callers together (a 503 past the bound), so the proxy's memory does
not grow with the number of callers that stall."""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Iterator
from typing import Any

from tests.helpers.loopback import CHUNK, FakeModelServer, call, serving, wait_until
from tests.proxy.conftest import USER, document, endpoint

OPENAI = "/llm-ops/v1/serve/chat/v1/chat/completions"
CHAT = {"messages": [{"role": "user", "content": "hi"}]}
ONE_AT_A_TIME = {"maxConcurrentRequests": 1, "maxInputTokens": 1000, "maxOutputTokens": 100}


@contextlib.contextmanager
def _not_reading(url: str, body: bytes, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections that send ``body`` to OPENAI and then never read."""
    host, port = url.removeprefix("http://").split(":")
    head = (
        f"POST {OPENAI} HTTP/1.1\r\nHost: proxy\r\nX-User-Id: u1\r\nX-User-Roles: llm-ops-user\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect((host, int(port)))
            sock.sendall(head + body)
            sockets.append(sock)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def _counter(metrics: str, name: str, labels: str) -> float:
    found = re.search(rf"^{name}\{{{re.escape(labels)}\}} (\S+)$", metrics, re.M)
    return float(found.group(1)) if found else 0.0


def test_a_stream_to_a_caller_that_stopped_reading_ends_and_frees_its_slot(
    proxy_for: Any,
) -> None:
    events = [(CHUNK % ("m", "x" * 64_000)).encode()] * 400 + [b"data: [DONE]\n\n"]  # 25 MB
    with serving(FakeModelServer(mode="stream_events", events=events)) as server:
        url = proxy_for(
            document(endpoint("chat", server.url, limits=ONE_AT_A_TIME)), write_timeout=1.0
        )
        stream = b'{"messages": [{"role": "user", "content": "hi"}], "stream": true}'
        with _not_reading(url, stream, 1):
            assert wait_until(lambda: len(server.requests) == 1)
            # the one slot is taken while the stream runs; once the caller is cut off it is free
            assert wait_until(
                lambda: call("POST", url + OPENAI, CHAT, headers=USER).status == 200, timeout=15
            )
            metrics = call("GET", f"{url}/metrics").body.decode()
    closed = 'reason="write_timeout"'
    assert _counter(metrics, "llmops_proxy_connections_closed_total", closed) == 1.0


def test_whole_answers_to_callers_that_do_not_read_are_bounded(proxy_for: Any) -> None:
    size = 8 * 1024 * 1024
    with serving(FakeModelServer(mode="big", bomb_bytes=size)) as server:
        url = proxy_for(
            document(endpoint("chat", server.url)),
            write_timeout=1.0,
            max_held_bytes=20 * 1024 * 1024,
        )
        body = b'{"messages": [{"role": "user", "content": "hi"}]}'
        with _not_reading(url, body, 6) as sockets:
            assert wait_until(lambda: len(server.requests) == 6, timeout=10)

            def cut_off() -> float:
                metrics = call("GET", f"{url}/metrics").body.decode()
                labels = 'reason="write_timeout"'
                return _counter(metrics, "llmops_proxy_connections_closed_total", labels)

            assert wait_until(lambda: cut_off() >= 1, timeout=15)
            metrics = call("GET", f"{url}/metrics").body.decode()
            busy = _counter(
                metrics, "llmops_proxy_upstream_errors_total", 'endpoint="chat",kind="too_busy"'
            )
            # six answers of 8 MiB do not fit into 20 MiB: some callers were told to retry
            assert busy >= 1
            assert len(sockets) == 6
        # a caller that reads gets the whole answer once the stalled ones are gone
        reply = call("POST", url + OPENAI, CHAT, headers=USER)
        assert reply.status == 200
        assert len(reply.body) > size


def test_a_caller_told_the_proxy_is_full_may_retry(proxy_for: Any) -> None:
    with serving(FakeModelServer(mode="big", bomb_bytes=2 * 1024 * 1024)) as server:
        url = proxy_for(document(endpoint("chat", server.url)), max_held_bytes=1024 * 1024)
        reply = call("POST", url + OPENAI, CHAT, headers=USER)
    assert reply.status == 503
    assert reply.headers["Retry-After"] == "1"
    assert reply.json()["error"]["message"] == (
        "the proxy already holds 1048576 bytes of answers for callers; retry shortly"
    )
