"""The proxy's own HTTP/1.1 server for plain inference requests (llmops/proxy/front.py), byte by
byte on raw sockets: pipelining, keep-alive, bodies that come late, too large or not at all, heads
it leaves to aiohttp (at once when malformed), a bug, and a shutdown with a request in flight."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import pytest

from llmops.proxy import front
from llmops.proxy.lean_head import parse_head
from llmops.proxy.options import ProxyOptions
from llmops.proxy.server import running_proxy
from tests.helpers.loopback import FakeModelServer, RawReply, read_answer, serving
from tests.proxy.conftest import config_of, document, endpoint

PLATFORM = "/llm-ops/v1/serve/chat/chat"
OPENAI = "/llm-ops/v1/serve/chat/v1/chat/completions"
BODY = json.dumps({"messages": [{"role": "user", "content": "hi"}]}).encode()
IDENTITY = b"X-User-Id: u1\r\nX-User-Roles: llm-ops-user\r\n"


def request(
    path: str = PLATFORM, body: bytes = BODY, extra: bytes = b"", length: int | None = None
) -> bytes:
    size = len(body) if length is None else length
    return (
        f"POST {path} HTTP/1.1\r\nHost: proxy\r\n".encode()
        + IDENTITY
        + b"Content-Type: application/json\r\n"
        + extra
        + f"Content-Length: {size}\r\n\r\n".encode()
        + body
    )


@pytest.fixture
def model() -> Any:
    with serving(FakeModelServer()) as server:
        yield server


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=5)


def answers(sock: socket.socket, count: int) -> list[RawReply]:
    """``count`` answers read off one connection (the last one tells whether it was closed)."""
    replies = []
    buffered = b""
    for n in range(count):
        reply, buffered = _one(sock, buffered, last=n == count - 1)
        replies.append(reply)
    return replies


def _one(sock: socket.socket, data: bytes, last: bool) -> tuple[RawReply, bytes]:
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            return RawReply(0, data.decode("latin-1"), b"", True), b""
        data += piece
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(rest) < length:
        rest += sock.recv(65536)
    body, rest = rest[:length], rest[length:]
    closed = False
    if last and not rest:
        sock.settimeout(0.3)
        try:
            closed = sock.recv(1) == b""
        except TimeoutError:
            closed = False
    return RawReply(int(head.split(b" ", 2)[1]), head.decode("latin-1"), body, closed), rest


def test_pipelined_requests_are_answered_in_order_on_one_connection(
    proxy_for: Any, model: FakeModelServer
) -> None:
    url = proxy_for(document(endpoint("chat", model.url)))
    first = json.dumps({"messages": [{"role": "user", "content": "first"}]}).encode()
    second = json.dumps({"messages": [{"role": "user", "content": "second"}]}).encode()
    with connect(url) as sock:
        sock.sendall(request(PLATFORM, first) + request(OPENAI, second))
        one, two = answers(sock, 2)
    assert (one.status, two.status) == (200, 200)
    assert "first" in one.json()["data"]["choices"][0]["message"]["content"]
    assert "second" in two.json()["choices"][0]["message"]["content"]
    assert two.closed is False


def test_a_pipelined_request_for_another_route_is_answered_after_by_aiohttp(
    proxy_for: Any, model: FakeModelServer
) -> None:
    url = proxy_for(document(endpoint("chat", model.url)))
    with connect(url) as sock:
        sock.sendall(
            request()
            + b"GET /llm-ops/v1/health HTTP/1.1\r\nHost: proxy\r\n\r\n"
            + b"HEAD /llm-ops/v1/serve/chat/chat HTTP/1.1\r\nHost: proxy\r\n\r\n"
        )
        chat, rest = _one(sock, b"", last=False)
        health, rest = _one(sock, rest, last=False)
        assert (chat.status, health.status) == (200, 200)
        assert health.json()["status"] == "success"
        while b"\r\n\r\n" not in rest:  # a HEAD answer: no body
            rest += sock.recv(65536)
        assert rest.startswith(b"HTTP/1.1 405 "), rest
        # and the connection stays aiohttp's: another inference request is still served
        sock.sendall(request())
        (again,) = answers(sock, 1)
    assert again.status == 200


def test_a_request_for_another_route_after_a_wait_is_answered_by_aiohttp(
    proxy_for: Any, model: FakeModelServer
) -> None:
    """Between two requests the connection's task waits for the next head; a head the proxy's
    own server does not serve ends that wait, and aiohttp serves the connection from then on."""
    url = proxy_for(document(endpoint("chat", model.url)))
    with connect(url) as sock:
        for _ in range(3):  # the same connection's task serves each in turn
            sock.sendall(request())
            (chat,) = answers(sock, 1)
            assert chat.status == 200
        time.sleep(0.05)  # idle: the task waits for the next head
        sock.sendall(b"GET /llm-ops/v1/health HTTP/1.1\r\nHost: proxy\r\n\r\n")
        health, _ = _one(sock, b"", last=False)
        assert health.status == 200 and health.json()["status"] == "success"
        sock.sendall(request())
        (again,) = answers(sock, 1)
    assert again.status == 200


def test_stopping_does_not_wait_for_connections_between_requests(model: FakeModelServer) -> None:
    """A keep-alive connection waiting for its next request is closed at once when the proxy
    stops; only requests in flight get the shutdown's 10 seconds."""
    context = running_proxy(config_of(document(endpoint("chat", model.url))), ProxyOptions())
    url = context.__enter__()
    try:
        with connect(url) as sock:
            sock.sendall(request())
            (chat,) = answers(sock, 1)
            assert chat.status == 200
            started = time.monotonic()
            context.__exit__(None, None, None)
            stopped = time.monotonic() - started
            assert sock.recv(1) == b""  # closed by the proxy
    finally:
        context.__exit__(None, None, None)
    assert stopped < 5


def test_a_body_that_comes_after_its_head_is_waited_for(
    proxy_for: Any, model: FakeModelServer
) -> None:
    url = proxy_for(document(endpoint("chat", model.url)))
    whole = request()
    with connect(url) as sock:
        for piece in (whole[:30], whole[30 : len(whole) - 10], whole[-10:-3], whole[-3:]):
            sock.sendall(piece)
            time.sleep(0.05)
        (reply,) = answers(sock, 1)
    assert reply.status == 200 and reply.closed is False


def test_a_body_larger_than_allowed_is_refused_unread(
    proxy_for: Any, model: FakeModelServer
) -> None:
    url = proxy_for(document(endpoint("chat", model.url)), max_request_bytes=1000)
    with connect(url) as sock:
        sock.sendall(request(OPENAI, b"{", length=5000))
        (reply,) = answers(sock, 1)
    assert reply.status == 413
    assert reply.json()["error"]["message"] == "the request body is larger than 1000 bytes"
    assert reply.closed
    assert model.requests == []


def test_a_refusal_before_the_body_keeps_the_connection_only_when_the_body_has_arrived(
    proxy_for: Any, model: FakeModelServer
) -> None:
    url = proxy_for(document(endpoint("chat", model.url)))
    anonymous = request().replace(IDENTITY, b"")
    with connect(url) as sock:  # the body has come: skipped, and the connection serves on
        sock.sendall(anonymous + request())
        refused, served = answers(sock, 2)
    assert (refused.status, served.status, served.closed) == (401, 200, False)
    with connect(url) as sock:  # the body has not come: the connection ends after the answer
        sock.sendall(anonymous[: -len(BODY)])
        (refused,) = answers(sock, 1)
    assert (refused.status, refused.closed) == (401, True)


def test_connection_close_is_honoured(proxy_for: Any, model: FakeModelServer) -> None:
    url = proxy_for(document(endpoint("chat", model.url)))
    with connect(url) as sock:
        sock.sendall(request(extra=b"Connection: close\r\n"))
        (reply,) = answers(sock, 1)
    assert reply.status == 200 and reply.closed
    assert "connection: close" in reply.head.lower()


def test_an_idle_connection_after_an_inference_request_is_closed(
    proxy_for: Any, model: FakeModelServer
) -> None:
    url = proxy_for(document(endpoint("chat", model.url)), keepalive_timeout=0.5)
    with connect(url) as sock:
        sock.sendall(request())
        (reply,) = answers(sock, 1)
        assert (reply.status, reply.closed) == (200, False)
        started = time.monotonic()
        sock.settimeout(5)
        assert sock.recv(1) == b""
        assert time.monotonic() - started < 2


def test_a_head_begun_and_never_finished_gets_a_408(proxy_for: Any) -> None:
    url = proxy_for(document(endpoint("chat", "http://127.0.0.1:1")), header_timeout=0.5)
    with connect(url) as sock:
        sock.sendall(b"POST /llm-ops/v1/serve/chat/chat HTTP/1.1\r\nHost: proxy\r\nX-")
        reply = read_answer(sock, timeout=2)
    assert reply.status == 408
    assert reply.json()["message"] == "the request head did not arrive within 0.5 s"


MALFORMED = {
    "a bare LF": b"POST /llm-ops/v1/serve/chat/chat HTTP/1.1\nHost: proxy\n",
    "obs-fold": b"POST /llm-ops/v1/serve/chat/chat HTTP/1.1\r\nHost: proxy\r\n folded\r\n",
    "a control character": b"POST /llm-ops/v1/serve/chat/chat HTTP/1.1\r\nX-User-Id: a\x01",
    "a space before the colon": b"POST /llm-ops/v1/serve/chat/chat HTTP/1.1\r\nHost : proxy\r\n",
}


@pytest.mark.parametrize("what", list(MALFORMED))
def test_a_malformed_head_is_refused_at_once_even_unfinished(proxy_for: Any, what: str) -> None:
    """aiohttp's parser refuses as soon as it sees the fault: the head goes to it at once."""
    url = proxy_for(document(endpoint("chat", "http://127.0.0.1:1")), header_timeout=30)
    with connect(url) as sock:
        sock.sendall(MALFORMED[what])
        reply = read_answer(sock, timeout=2)
    assert reply.status == 400, reply.head
    assert reply.json()["message"].startswith("the request is not valid HTTP: ")


FRAMING = {
    "two Content-Lengths": b"Content-Length: 2\r\n",
    "Content-Length and Transfer-Encoding": b"Transfer-Encoding: chunked\r\n",
    "a Content-Length that is not a number": b"Content-Length: +2\r\n",
}


@pytest.mark.parametrize("what", list(FRAMING))
def test_ambiguous_framing_on_an_inference_route_is_refused(
    proxy_for: Any, model: FakeModelServer, what: str
) -> None:
    url = proxy_for(document(endpoint("chat", model.url)))
    with connect(url) as sock:
        sock.sendall(request(extra=FRAMING[what]))
        reply = read_answer(sock, timeout=2)
    assert reply.status == 400, reply.head
    assert reply.closed
    assert model.requests == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (b"", "Missing 'Host' header in request."),
        (b"Host: proxy\r\nHost: other\r\n", None),
    ],
)
def test_an_inference_request_without_exactly_one_host_is_refused_as_on_any_route(
    proxy_for: Any, model: FakeModelServer, fields: bytes, message: str | None
) -> None:
    """HTTP/1.1 requires one Host: the inference routes refuse a request without it in the
    envelope, as aiohttp does on every other route, and the model server never sees it."""
    url = proxy_for(document(endpoint("chat", model.url)))
    head = f"POST {PLATFORM} HTTP/1.1\r\n".encode() + fields + IDENTITY
    with connect(url) as sock:
        sock.sendall(head + f"Content-Length: {len(BODY)}\r\n\r\n".encode() + BODY)
        reply = read_answer(sock, timeout=2)
    assert reply.status == 400, reply.head
    assert reply.json()["message"].startswith("the request is not valid HTTP: ")
    if message is not None:
        assert reply.json()["message"].endswith(message)
    assert model.requests == []


def test_http_1_0_and_absolute_targets_are_still_served(
    proxy_for: Any, model: FakeModelServer
) -> None:
    url = proxy_for(document(endpoint("chat", model.url)))
    for payload in (
        request().replace(b"HTTP/1.1", b"HTTP/1.0", 1),
        request().replace(b"POST /", b"POST http://proxy/", 1),
        request().replace(b"/serve/chat/", b"/serve/%63hat/", 1),
    ):
        with connect(url) as sock:
            sock.sendall(payload)
            reply = read_answer(sock, timeout=2)
        assert reply.status == 200, (payload[:60], reply.head)


def test_a_bug_is_a_500_in_the_routes_shape_and_one_log_line(
    proxy_for: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: Any) -> str:
        raise RuntimeError("a bug")

    url = proxy_for(document(endpoint("chat", "http://127.0.0.1:1")))
    # a bug in the route code, reached through a class the compiled modules call as Python does:
    # the proxy's options, of which every whole answer reads its size bound
    monkeypatch.setattr(ProxyOptions, "max_response_bytes", property(broken), raising=False)
    with connect(url) as sock:
        sock.sendall(request(OPENAI))
        (reply,) = answers(sock, 1)
    assert reply.status == 500 and reply.closed
    assert reply.json()["error"]["message"] == "internal error in the llmops proxy (see its log)"
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert errors == ["internal error serving POST chat: RuntimeError: a bug"]


def test_a_header_value_with_a_line_break_is_never_written() -> None:
    with pytest.raises(ValueError, match="a head cannot carry"):
        front._head(200, [], {"X-LLMOps-Variant": "a\r\nSet-Cookie: x"}, False)
    for _ in range(2):  # a stream's head, made once per set of headers, is refused every time
        with pytest.raises(ValueError, match="a head cannot carry"):
            front._stream_head({"X-LLMOps-Variant": "a\r\nSet-Cookie: x"}, False)


def test_a_streams_head_carries_its_own_headers_and_the_current_date() -> None:
    heads = {
        (variant, close): front._stream_head({"X-LLMOps-Variant": variant}, close)
        for variant in ("a", "b", "a")
        for close in (False, True)
    }
    for (variant, close), head in heads.items():
        assert head.startswith(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n")
        assert f"\r\nX-LLMOps-Variant: {variant}\r\n".encode() in head
        assert (b"\r\nConnection: close\r\n" in head) is close
        assert head.endswith(front._DATE.get() + b"\r\n")


def test_a_request_in_flight_finishes_when_the_proxy_stops() -> None:
    with serving(FakeModelServer(mode="slow", delay=0.5)) as model:
        outcome: dict[str, Any] = {}
        with running_proxy(config_of(document(endpoint("chat", model.url))), ProxyOptions()) as url:
            sock = connect(url)

            def call() -> None:
                sock.sendall(request())
                outcome["reply"] = answers(sock, 1)[0]

            caller = threading.Thread(target=call)
            caller.start()
            time.sleep(0.2)  # the request is with the model server
        caller.join(5)
        sock.close()
    assert outcome["reply"].status == 200
    assert outcome["reply"].closed


LINE = b"POST /llm-ops/v1/serve/chat/chat HTTP/1.1\r\n"
HEADS = {
    b"Host: p\r\nContent-Length: 2\r\n": ("chat", "chat", False, 2, False),
    b"content-length:  7 \r\nConnection: Keep-Alive\r\nhost: p:80\r\n": (
        "chat",
        "chat",
        False,
        7,
        False,
    ),
    b"Host: p\r\nContent-Length: 0\r\nConnection: keep-alive, close\r\n": (
        "chat",
        "chat",
        False,
        0,
        True,
    ),
    b"Host: p\r\n": None,  # no Content-Length
    b"Content-Length: 2\r\n": None,  # no Host: HTTP/1.1 requires it, aiohttp refuses the request
    b"Host: p\r\nContent-Length: 2\r\nHost: q\r\n": None,
    b"Host:\r\nContent-Length: 2\r\n": None,
    b"Host: p q\r\nContent-Length: 2\r\n": None,
    b"Content-Length: 2\r\nContent-Length: 2\r\n": None,
    b"Content-Length: 0x2\r\n": None,
    b"Content-Length: 2\r\ntransfer-encoding: chunked\r\n": None,
    b"Content-Length: 2\r\nContent-Encoding: gzip\r\n": None,
    b"Content-Length: 2\r\nExpect: 100-continue\r\n": None,
    b"Content-Length: 2\r\nUpgrade: h2c\r\n": None,
    b"Content-Length: 2\r\nConnection: upgrade\r\n": None,
    b"Content-Length: 2\r\n folded\r\n": None,
    b"Content-Length: 2\r\nX: a\nb\r\n": None,
    b"Content-Length: 2\r\nX: a\x7f\r\n": None,
    b"Content-Length: 2\r\nX : a\r\n": None,
    b"Content-Length: 2\r\nX: caf\xc3\xa9\r\n": None,
    b"Content-Length: 2\r\n" + b"X: 1\r\n" * 101: None,
}


@pytest.mark.parametrize("fields", list(HEADS))
def test_which_heads_the_proxys_own_server_serves(fields: bytes) -> None:

    head = parse_head(LINE + fields)
    expected = HEADS[fields]
    if expected is None:
        assert head is None
        return
    assert head is not None
    assert (head.name, head.kind, head.openai, head.length, head.close) == expected


@pytest.mark.parametrize(
    "line",
    [
        b"POST /llm-ops/v1/serve/chat/chat HTTP/1.0\r\n",
        b"POST /llm-ops/v1/serve/ch%61t/chat HTTP/1.1\r\n",
        b"POST /llm-ops/v1/serve/../chat HTTP/1.1\r\n",
        b"POST /llm-ops/v1/serve/chat/chat#x HTTP/1.1\r\n",
        b"POST /llm-ops/v1/serve/chat/v1/models HTTP/1.1\r\n",
        b"PUT /llm-ops/v1/serve/chat/chat HTTP/1.1\r\n",
        b"post /llm-ops/v1/serve/chat/chat HTTP/1.1\r\n",
        b"POST  /llm-ops/v1/serve/chat/chat HTTP/1.1\r\n",
    ],
)
def test_other_request_lines_are_left_to_aiohttp(line: bytes) -> None:

    assert parse_head(line + b"Content-Length: 2\r\n") is None


def test_a_head_cut_anywhere_is_still_served_by_the_proxys_own_server(
    proxy_for: Any, model: FakeModelServer
) -> None:
    """A head arriving in two pieces, cut at any byte, is waited for, not handed to aiohttp
    (whose answers carry a Server header; the proxy's own carry none)."""
    url = proxy_for(document(endpoint("chat", model.url)))
    whole = request(OPENAI, extra=b"Connection: keep-alive\r\nX-Request-Id: r-1\r\n")
    head_end = whole.index(b"\r\n\r\n") + 4
    near_line_ends = {
        at + step
        for at, byte in enumerate(whole[:head_end])
        if byte == 0x0A
        for step in (-2, -1, 0, 1)
    }
    cuts = sorted(cut for cut in near_line_ends | set(range(1, head_end, 9)) if 0 < cut < head_end)
    with connect(url) as sock:
        for cut in cuts:
            sock.sendall(whole[:cut])
            time.sleep(0.002)
            sock.sendall(whole[cut:])
            reply, rest = _one(sock, b"", last=False)
            assert reply.status == 200, (cut, reply.head)
            assert "\r\nserver:" not in reply.head.lower(), (cut, reply.head)
            assert rest == b""


def test_bytes_piling_up_behind_a_slow_request_are_bounded_then_refused_by_aiohttp(
    proxy_for: Any,
) -> None:
    with serving(FakeModelServer(mode="slow", delay=0.5)) as model:
        url = proxy_for(document(endpoint("chat", model.url)))
        with connect(url) as sock:
            sock.sendall(request())
            junk = b"\x00not http\r\n" * 10_000
            sock.setblocking(False)
            sent = 0
            deadline = time.monotonic() + 0.4
            while time.monotonic() < deadline:  # reading pauses once 64 KiB are held
                try:
                    sent += sock.send(junk)
                except BlockingIOError:
                    time.sleep(0.01)
            # the kernel's buffers hold a few MiB; without the pause the proxy took 140 MB here
            assert sent < 24 * 1024 * 1024
            sock.setblocking(True)
            sock.settimeout(5)
            first, rest = _one(sock, b"", last=False)
            refused, _ = _one(sock, rest, last=False)
    assert first.status == 200
    assert refused.status == 400
    assert refused.json()["message"].startswith("the request is not valid HTTP: ")


def test_a_caller_gone_while_its_body_is_awaited_leaves_nothing_behind(
    proxy_for: Any, model: FakeModelServer
) -> None:
    url = proxy_for(document(endpoint("chat", model.url)))
    with connect(url) as sock:
        sock.sendall(request(length=len(BODY) + 50))
        time.sleep(0.1)
    with connect(url) as sock:  # the proxy serves on
        sock.sendall(request())
        (reply,) = answers(sock, 1)
    assert reply.status == 200
    assert len(model.requests) == 1


def test_header_values_lose_only_the_whitespace_around_them() -> None:
    head = parse_head(
        LINE + b"Host: p\r\nContent-Length: 2\r\nX-User-Id: \t a  b \t\r\nX-Empty:\r\nX-A:x:y\r\n"
    )
    assert head is not None
    assert list(head.headers.items()) == [
        ("host", "p"),
        ("content-length", "2"),
        ("x-user-id", "a  b"),
        ("x-empty", ""),
        ("x-a", "x:y"),
    ]
