"""`llmops chat` against a server that answers with hostile JSON: nesting deeper than any answer
needs, integers too long to read, NaN, and shapes that are not OpenAI's. Each is one line on stderr
and exit 1 (the server's answer is the problem), or 2 for a /health that is not a proxy's; never a
traceback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.helpers.estate import run_cli

DEEP = b"[" * 100_000 + b"]" * 100_000
HEALTH = b'{"data": {"environment": "dev"}}'


@contextmanager
def answering(health: bytes, status: int, body: bytes, stream: bool) -> Iterator[str]:
    """A loopback HTTP server answering /health with ``health`` and every POST with ``status`` and
    ``body`` (as an event stream when ``stream``)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, code: int, content: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def do_GET(self) -> None:
            self._answer(200, health, "application/json")

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self._answer(status, body, "text/event-stream" if stream else "application/json")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _events(*payloads: bytes) -> bytes:
    return b"".join(b"data: " + payload + b"\n\n" for payload in payloads) + b"data: [DONE]\n\n"


ANSWERS = {
    "deep answer": (200, b'{"data": ' + DEEP + b"}", False),
    "deep choices": (200, b'{"data": {"choices": ' + DEEP + b"}}", False),
    "long integer in the answer": (200, b'{"data": {"n": ' + b"9" * 5000 + b"}}", False),
    "NaN in the answer": (200, b'{"data": {"choices": [], "x": NaN}}', False),
    "1e999 in the answer": (200, b'{"data": {"x": 1e999}}', False),
    "deep stream event": (200, _events(DEEP), True),
    "deep content in a stream event": (
        200,
        _events(b'{"choices": [{"delta": {"content": ' + DEEP + b"}}]}"),
        True,
    ),
    "long integer in a stream event": (200, _events(b'{"n": ' + b"1" * 5000 + b"}"), True),
    "Infinity in a stream event": (200, _events(b'{"choices": [], "x": Infinity}'), True),
    "deep error body": (500, b'{"message": ' + DEEP + b"}", False),
    "long integer in an error body": (500, b'{"message": ' + b"7" * 5000 + b"}", False),
}


@pytest.mark.parametrize("case", sorted(ANSWERS))
def test_hostile_answers_are_one_line_and_exit_1(case: str) -> None:
    status, body, stream = ANSWERS[case]
    with answering(HEALTH, status, body, stream) as url:
        result = run_cli(
            "chat", "m", "Hi", "--env", "dev", "--url", url, *(["--stream"] if stream else [])
        )
    assert result.exit_code == 1, (result.exit_code, result.stderr[-2000:])
    assert result.stderr.startswith("llmops: error: "), result.stderr[-2000:]
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr


@pytest.mark.parametrize(
    "event",
    [
        b'{"error": "the model went away"}',
        b'{"choices": "abc"}',
        b'{"choices": [1, {"delta": "text"}, {"delta": {"content": 5}}]}',
    ],
)
def test_stream_events_of_other_shapes_are_no_traceback(event: bytes) -> None:
    with answering(HEALTH, 200, _events(event), True) as url:
        result = run_cli("chat", "m", "Hi", "--env", "dev", "--url", url, "--stream")
    assert result.exit_code in (0, 1), (result.exit_code, result.stderr[-2000:])
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


@pytest.mark.parametrize("health", [DEEP, b'{"data": {"environment": ' + b"5" * 5000 + b"}}"])
def test_a_hostile_health_answer_is_not_a_proxy(health: bytes) -> None:
    with answering(health, 200, b"{}", False) as url:
        result = run_cli("chat", "m", "Hi", "--env", "dev", "--url", url)
    assert result.exit_code == 2, (result.exit_code, result.stderr[-2000:])
    assert "does not answer /health like an llmops proxy" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2  # the message and its hint


def test_identity_headers_go_as_utf8_and_text_no_header_can_carry_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--user 용` crashed with exit 3 (http.client writes a header as Latin-1); the proxy reads
    identity headers as UTF-8, so that is what is sent. Text that is not UTF-8 (from a Latin-1
    terminal's variable) or not ASCII in the URL is a usage error."""
    seen: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            seen.append(self.headers.get("X-User-Id", "").encode("latin-1"))
            self.send_response(200)
            self.send_header("Content-Length", str(len(HEALTH)))
            self.end_headers()
            self.wfile.write(HEALTH)

        def do_POST(self) -> None:
            self.do_GET()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        result = run_cli(
            "chat", "example-model", "hi", "--env", "dev", "--user", "용", "--url", url
        )
        assert "internal error" not in result.stderr and seen
        assert set(seen) == {"용".encode()}
    finally:
        server.shutdown()
        server.server_close()
    monkeypatch.setenv("LLM_OPS_USER_ID", "a\udc85b")
    unusable = run_cli("chat", "example-model", "hi", "--env", "dev", "--url", url)
    assert unusable.exit_code == 2 and "$LLM_OPS_USER_ID is not UTF-8 text" in unusable.stderr
    monkeypatch.delenv("LLM_OPS_USER_ID")
    address = run_cli("chat", "example-model", "hi", "--env", "dev", "--url", url + "/용")
    assert address.exit_code == 2 and "is not printable ASCII" in address.stderr
