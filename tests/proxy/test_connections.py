"""Client connections and the shape of every answer: idle and half-sent connections are timed out,
their number is capped (the health probe still gets through with the open-file limit at 1,024), and
what the HTTP parser refuses or no route matches answers in the envelope its path promises."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.estate import PROJECT_ROOT
from tests.helpers.loopback import (
    FakeModelServer,
    call,
    raw_exchange,
    read_answer,
    serving,
    wait_until,
)
from tests.proxy.conftest import USER, document, endpoint

HOST = b"Host: proxy\r\n"
PROTOCOL_ERRORS = {
    "a header line too long": b"GET /llm-ops/v1/health HTTP/1.1\r\n"
    + HOST
    + b"X-Long: "
    + b"a" * 9000
    + b"\r\n\r\n",
    "a bad chunk size": (
        b"POST /llm-ops/v1/serve/chat/chat HTTP/1.1\r\n"
        + HOST
        + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
    ),
    "Content-Length with Transfer-Encoding": (
        b"POST /llm-ops/v1/serve/chat/chat HTTP/1.1\r\n"
        + HOST
        + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n"
        + b"0\r\n\r\n"
    ),
    "bare LF line ends": b"GET /llm-ops/v1/health HTTP/1.1\n" + HOST.replace(b"\r", b"") + b"\n",
    "a control character in a header": b"GET /llm-ops/v1/health HTTP/1.1\r\n"
    + HOST
    + b"X-User-Id: a\x01b\r\n\r\n",
    "a method with a bad character": b"G@T /llm-ops/v1/health HTTP/1.1\r\n" + HOST + b"\r\n",
    "not HTTP at all": b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 40 + b"\r\n\r\n",
    "too many headers": b"GET /llm-ops/v1/health HTTP/1.1\r\n"
    + HOST
    + b"".join(b"X-%d: 1\r\n" % n for n in range(200))
    + b"\r\n",
}


@pytest.mark.parametrize("what", list(PROTOCOL_ERRORS))
def test_what_the_http_parser_refuses_answers_in_the_envelope(proxy_for: Any, what: str) -> None:
    url = proxy_for(document(endpoint("chat", "http://127.0.0.1:1")))
    reply = raw_exchange(url, PROTOCOL_ERRORS[what])
    assert 400 <= reply.status < 500, reply.head
    assert "content-type: application/json" in reply.head.lower()
    answer = reply.json()
    assert answer["status"] == "error" and answer["message"].startswith(
        "the request is not valid HTTP: "
    )
    # the path is unknown: both shapes, for either client
    assert answer["error"]["code"] == reply.status
    assert reply.closed


def test_unknown_paths_and_methods_under_the_openai_routes_carry_openais_error(
    proxy_for: Any,
) -> None:
    url = proxy_for(document(endpoint("chat", "http://127.0.0.1:1")))
    base = f"{url}/llm-ops/v1/serve/chat/v1"
    for method, path, status in (
        ("GET", "/nothing", 404),
        ("POST", "/responses", 404),
        ("GET", "/chat/completions", 405),
        ("DELETE", "/models", 405),
    ):
        reply = call(method, base + path, headers=USER)
        assert reply.status == status
        assert reply.json()["error"]["code"] == status and reply.json()["status"] == "error"
    platform = call("GET", f"{url}/llm-ops/v1/nothing")
    # the platform routes keep the envelope alone
    assert platform.status == 404 and "error" not in platform.json()


def test_a_request_head_must_arrive_within_the_header_timeout(proxy_for: Any) -> None:
    url = proxy_for(
        document(endpoint("chat", "http://127.0.0.1:1")), header_timeout=0.5, keepalive_timeout=30
    )
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET /llm-ops/v1/health HTTP/1.1\r\n")
        started = time.monotonic()
        answer = None
        for n in range(40):  # a byte of header every 0.1 s: busy, but never finishing the head
            try:
                sock.sendall(b"X-Slow-%d: 1\r\n" % n)
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.1)
            sock.settimeout(0.01)
            try:
                answer = read_answer(sock, timeout=0.05)
                break
            except TimeoutError:
                continue
        elapsed = time.monotonic() - started
    assert answer is not None and answer.status == 408, answer
    assert answer.json()["message"] == "the request head did not arrive within 0.5 s"
    assert 0.4 < elapsed < 2.5


def test_an_idle_keep_alive_connection_is_closed(proxy_for: Any) -> None:
    url = proxy_for(document(endpoint("chat", "http://127.0.0.1:1")), keepalive_timeout=0.5)
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET /llm-ops/v1/health HTTP/1.1\r\nHost: proxy\r\n\r\n")
        first = read_answer(sock, timeout=0.2)
        assert (first.status, first.closed) == (200, False)  # kept alive
        started = time.monotonic()
        sock.settimeout(5)
        assert sock.recv(1) == b""
        assert time.monotonic() - started < 2


def test_a_request_body_must_arrive_within_the_header_timeout(proxy_for: Any) -> None:
    url = proxy_for(document(endpoint("chat", "http://127.0.0.1:1")), header_timeout=0.5)
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"POST /llm-ops/v1/serve/chat/chat HTTP/1.1\r\nHost: proxy\r\nX-User-Id: u1\r\n"
            b"X-User-Roles: llm-ops-user\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n"
            b'{"messages"'
        )
        answer = read_answer(sock, timeout=1.5)
    assert answer.status == 408
    assert answer.json()["message"] == "the request body did not arrive within 0.5 s"


def test_at_the_cap_the_longest_idle_connection_makes_room(proxy_for: Any) -> None:
    url = proxy_for(document(endpoint("chat", "http://127.0.0.1:1")), max_connections=10)
    host, port = url.removeprefix("http://").split(":")
    idle = [socket.create_connection((host, int(port)), timeout=5) for _ in range(25)]
    try:
        idle[-1].sendall(b"GET /llm-ops/v1/he")  # half a head: idle too
        assert call("GET", f"{url}/llm-ops/v1/health", timeout=5).status == 200
        metrics = call("GET", f"{url}/metrics").body.decode()
        evicted = next(
            line
            for line in metrics.splitlines()
            if line.startswith('llmops_proxy_connections_closed_total{reason="evicted"}')
        )
        assert float(evicted.rsplit(" ", 1)[1]) >= 16
        closed = sum(1 for sock in idle[:16] if _closed_by_peer(sock))
        assert closed == 16  # the oldest ones went first
    finally:
        for sock in idle:
            sock.close()


def _closed_by_peer(sock: socket.socket) -> bool:
    sock.settimeout(2)
    try:
        return sock.recv(1) == b""
    except (TimeoutError, ConnectionResetError):
        return False


def test_when_every_connection_is_busy_a_new_one_gets_a_503(proxy_for: Any) -> None:
    server = FakeModelServer(mode="slow", delay=1.5)
    with serving(server):
        url = proxy_for(document(endpoint("chat", server.url)), max_connections=2)

        async def main() -> tuple[list[int], Any]:
            import aiohttp

            async with aiohttp.ClientSession() as session:

                async def slow() -> int:
                    async with session.post(
                        f"{url}/llm-ops/v1/serve/chat/chat",
                        json={"messages": [{"role": "user", "content": "hi"}]},
                        headers=USER,
                    ) as response:
                        return response.status

                busy = [asyncio.create_task(slow()) for _ in range(2)]
                await asyncio.sleep(0.5)
                refused = await asyncio.to_thread(
                    raw_exchange, url, b"GET /llm-ops/v1/health HTTP/1.1\r\nHost: proxy\r\n\r\n"
                )
                return list(await asyncio.gather(*busy)), refused

        statuses, refused = asyncio.run(main())
    assert statuses == [200, 200]
    assert refused.status == 503
    assert refused.json()["message"] == "the proxy has 2 connections, all busy; retry shortly"


def _limit_open_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))


@pytest.mark.slow
def test_health_answers_with_1100_idle_connections_and_1024_open_files(tmp_path: Path) -> None:
    """The issue's case, against a real `llmops proxy` process whose open-file limit is 1,024."""
    config = tmp_path / "proxy.json"
    config.write_text(
        json.dumps(document(endpoint("chat", "http://127.0.0.1:1"))), encoding="utf-8"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "llmops.cli.main", "proxy", "--config", str(config), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        preexec_fn=_limit_open_files,
    )
    assert process.stdout is not None
    url = process.stdout.readline().rsplit(" on ", 1)[1].strip()
    host, port = url.removeprefix("http://").split(":")
    held: list[socket.socket] = []
    try:
        for n in range(1100):
            try:
                sock = socket.create_connection((host, int(port)), timeout=5)
            except OSError:
                continue
            if n % 2:
                # a head never finished
                sock.sendall(b"GET /llm-ops/v1/health HTTP/1.1\r\nHost: a\r\n")
            held.append(sock)
        assert len(held) >= 1000
        assert wait_until(lambda: _healthy(url), timeout=15, interval=0.2)
        metrics = call("GET", f"{url}/metrics", timeout=10).body.decode()
        assert 'llmops_proxy_connections_closed_total{reason="evicted"}' in metrics
    finally:
        for sock in held:
            sock.close()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert "Traceback" not in stderr and "out of system resource" not in stderr, stderr[-2000:]


def _healthy(url: str) -> bool:
    try:
        return call("GET", f"{url}/llm-ops/v1/health", timeout=3).status == 200
    except OSError:
        return False
