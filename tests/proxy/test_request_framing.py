"""Requests whose body cannot be read (an undecodable Content-Encoding, chunked framing that breaks
half-way) and an `Expect` the proxy does not know: each is a 4xx in the route's shape at once, with
no traceback in the log, and the connection is closed since its framing is lost."""

from __future__ import annotations

import socket
import time
import zlib
from typing import Any

import pytest

from tests.helpers.loopback import FakeModelServer, raw_exchange, read_answer, serving
from tests.proxy.conftest import document, endpoint

OPENAI = "/llm-ops/v1/serve/chat/v1/chat/completions"
ORIGINAL_BODIES = "/llm-ops/v1/serve/chat/chat"
IDENTITY = "X-User-Id: u1\r\nX-User-Roles: llm-ops-user\r\nContent-Type: application/json\r\n"


@pytest.fixture
def proxy_url(proxy_for: Any) -> Any:
    with serving(FakeModelServer()) as server:
        # a body timeout far beyond the socket's: only an answer at once passes
        yield proxy_for(document(endpoint("chat", server.url)), header_timeout=60.0), server


def _head(path: str, extra: str) -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: proxy\r\n{IDENTITY}{extra}\r\n".encode()


@pytest.mark.parametrize("path", [OPENAI, ORIGINAL_BODIES])
@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", b"this is not gzip"),
        ("deflate", b"nor deflate"),
        ("gzip", zlib.compress(b'{"messages": []}')[:-6]),  # cut short
        ("deflate", b"\x78\x9c" + b"\xff" * 40),
    ],
)
def test_an_undecodable_body_is_a_400_in_the_routes_shape(
    proxy_url: Any, caplog: pytest.LogCaptureFixture, path: str, encoding: str, body: bytes
) -> None:
    url, server = proxy_url
    payload = _head(path, f"Content-Encoding: {encoding}\r\nContent-Length: {len(body)}\r\n") + body
    reply = raw_exchange(url, payload)
    assert reply.status == 400, reply.head
    assert reply.json()["message"].startswith("the request body cannot be read (")
    assert ("error" in reply.json()) is (path == OPENAI)
    assert reply.closed
    assert server.requests == []
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []


@pytest.mark.parametrize("path", [OPENAI, ORIGINAL_BODIES])
@pytest.mark.parametrize("broken", [b"zz\r\n", b"5\r\nhello!!\r\n", b"-1\r\n", b"5;\x00\r\nhello"])
def test_chunked_framing_that_breaks_half_way_is_a_400_at_once(
    proxy_url: Any, path: str, broken: bytes
) -> None:
    url, server = proxy_url
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(_head(path, "Transfer-Encoding: chunked\r\n") + b'6\r\n{"mess\r\n')
        time.sleep(0.3)  # the handler is reading the body by now
        sock.sendall(broken)
        reply = read_answer(sock, timeout=5)
    assert reply.status == 400, reply.head
    assert "chunk" in reply.json()["message"].lower()
    assert ("error" in reply.json()) is (path == OPENAI)
    assert reply.closed
    assert server.requests == []


@pytest.mark.parametrize(
    ("path", "method"),
    [
        (OPENAI, "POST"),
        (ORIGINAL_BODIES, "POST"),
        ("/llm-ops/v1/health", "GET"),
        ("/nowhere", "GET"),
    ],
)
@pytest.mark.parametrize("expect", ["200-ok", "100-continue, foo", "100-continued"])
def test_an_unknown_expectation_is_a_417_with_both_shapes(
    proxy_url: Any, path: str, method: str, expect: str
) -> None:
    url, server = proxy_url
    payload = (
        f"{method} {path} HTTP/1.1\r\nHost: proxy\r\n{IDENTITY}Expect: {expect}\r\n"
        "Content-Length: 2\r\n\r\n{}"
    ).encode()
    reply = raw_exchange(url, payload)
    assert reply.status == 417, reply.head
    document = reply.json()
    assert document["status"] == "error" and document["error"]["code"] == 417
    assert "Expect: 100-continue" in document["message"]
    assert server.requests == []


def test_expect_100_continue_still_works(proxy_url: Any) -> None:
    url, server = proxy_url
    body = b'{"messages": [{"role": "user", "content": "hi"}]}'
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(_head(OPENAI, f"Expect: 100-continue\r\nContent-Length: {len(body)}\r\n"))
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(body)
        reply = read_answer(sock)
    assert reply.status == 200, reply.body[:200]
    assert len(server.requests) == 1
