"""Model servers that fail: down, slow, 5xx, malformed JSON, cut or stalled streams. Each gives a
clear 502/504 (or an error event inside a started stream), a client going away cancels the upstream
request, and nothing logs a traceback (the autouse `no_tracebacks` fixture checks every test
here)."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any
from urllib.parse import urlsplit

import openai
import pytest

from tests.helpers.loopback import FakeModelServer, call, free_port, serving, wait_until
from tests.proxy.conftest import USER, document, endpoint

CHAT = {"messages": [{"role": "user", "content": "hi"}]}
STREAM = {**CHAT, "stream": True}


def _paths(url: str) -> tuple[str, str]:
    return f"{url}/llm-ops/v1/serve/chat/chat", f"{url}/llm-ops/v1/serve/chat/v1/chat/completions"


def test_backend_down(proxy_for: Any) -> None:
    port = free_port()
    url = proxy_for(document(endpoint("chat", f"http://127.0.0.1:{port}")))
    platform, openai_path = _paths(url)
    for path, body in ((platform, CHAT), (openai_path, CHAT), (openai_path, STREAM)):
        reply = call("POST", path, body, headers=USER)
        assert reply.status == 502
        assert reply.json()["message"].startswith(
            f"cannot connect to the model server of chat (http://127.0.0.1:{port})"
        )
        assert reply.json()["status"] == "error"
    # the OpenAI routes add OpenAI's error object
    assert reply.json()["error"]["type"] == "upstream_error"
    metrics = call("GET", f"{url}/metrics").body.decode()
    assert 'llmops_proxy_upstream_errors_total{endpoint="chat",kind="connect"} 3.0' in metrics


def test_slow_backend_times_out(proxy_for: Any) -> None:
    with serving(FakeModelServer(mode="slow", delay=5)) as server:
        url = proxy_for(document(endpoint("chat", server.url)), response_timeout=0.3)
        started = time.monotonic()
        reply = call("POST", _paths(url)[0], CHAT, headers=USER)
        assert time.monotonic() - started < 3
        assert reply.status == 504
        assert (
            reply.json()["message"]
            == f"the model server of chat ({server.url}) did not answer within 0.3 s"
        )
        # the abandoned request is cancelled there too
        assert wait_until(lambda: len(server.cancelled) == 1)


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("error500", "answered HTTP 500: boom: out of memory"),
        ("bad_json", "answered HTTP 200 with a body that is not JSON: this is {not json"),
    ],
)
def test_5xx_and_malformed_json_are_502(proxy_for: Any, mode: str, message: str) -> None:
    with serving(FakeModelServer(mode=mode)) as server:
        url = proxy_for(document(endpoint("chat", server.url)))
        for path in _paths(url):
            reply = call("POST", path, CHAT, headers=USER)
            assert reply.status == 502
            assert reply.json()["message"] == f"the model server of chat ({server.url}) {message}"
        stream = call("POST", _paths(url)[1], STREAM, headers=USER)
        assert stream.status == 502
        assert stream.headers["Content-Type"].startswith("application/json")


def test_a_refusal_by_the_model_server_is_passed_on(proxy_for: Any) -> None:
    with serving(FakeModelServer(mode="reject")) as server:
        url = proxy_for(document(endpoint("chat", server.url)))
        platform, openai_path = _paths(url)
        wrapped = call("POST", platform, CHAT, headers=USER)
        assert wrapped.status == 400
        assert wrapped.json()["message"] == (
            "the model server refused the request (HTTP 400): "
            '{"error": {"message": "the model refuses this"}}'
        )
        assert wrapped.json()["data"] == {"error": {"message": "the model refuses this"}}
        relayed = call("POST", openai_path, CHAT, headers=USER)
        assert (relayed.status, relayed.json()) == (
            400,
            {"error": {"message": "the model refuses this"}},
        )


def test_too_large_answer_is_refused(proxy_for: Any) -> None:
    with serving(FakeModelServer()) as server:
        url = proxy_for(document(endpoint("chat", server.url)), max_response_bytes=100)
        reply = call("POST", _paths(url)[0], CHAT, headers=USER)
    assert reply.status == 502
    assert "more than the proxy holds (100)" in reply.json()["message"]


def _events(body: bytes) -> list[str]:
    return [event for event in body.decode().split("\n\n") if event]


@pytest.mark.parametrize(
    ("mode", "status", "message"),
    [
        ("cut", 502, "cut the connection in the middle of a stream"),
        ("no_done", 502, "ended the stream without data: [DONE]"),
        ("stall", 504, "sent nothing for 0.3 s in the middle of a stream"),
    ],
)
def test_broken_streams_end_with_an_error_event(
    proxy_for: Any, mode: str, status: int, message: str
) -> None:
    with serving(FakeModelServer(mode=mode)) as server:
        url = proxy_for(document(endpoint("chat", server.url)), stream_idle_timeout=0.3)
        reply = call("POST", _paths(url)[1], STREAM, headers=USER)
        metrics = call("GET", f"{url}/metrics").body.decode()
    assert reply.status == 200  # sent before the fault
    events = _events(reply.body)
    assert events[0].startswith("data: {")
    assert "data: [DONE]" not in events
    error = json.loads(events[-1][len("data: ") :])["error"]
    assert error == {
        "message": f"the model server of chat ({server.url}) {message}",
        "type": "upstream_error",
        "code": status,
    }
    kind = "timeout" if mode == "stall" else "stream_cut"
    assert f'llmops_proxy_upstream_errors_total{{endpoint="chat",kind="{kind}"}} 1.0' in metrics


def test_openai_client_raises_the_cut_stream(proxy_for: Any) -> None:
    with serving(FakeModelServer(mode="cut")) as server:
        url = proxy_for(document(endpoint("chat", server.url)))
        client = openai.OpenAI(
            base_url=f"{url}/llm-ops/v1/serve/chat/v1",
            api_key="unused",
            default_headers=USER,
            max_retries=0,
        )
        stream = client.chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        with pytest.raises(openai.APIError, match="cut the connection in the middle of a stream"):
            for _ in stream:
                pass


def _open_stream(
    url: str, body: dict[str, Any]
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    connection.request(
        "POST", parts.path, json.dumps(body), {**USER, "Content-Type": "application/json"}
    )
    return connection, connection.getresponse()


def _in_flight(url: str) -> str:
    metrics = call("GET", f"{url}/metrics").body.decode()
    return next(
        line for line in metrics.splitlines() if line.startswith("llmops_proxy_in_flight_requests{")
    )


def test_client_leaving_a_stream_cancels_the_upstream_request(proxy_for: Any) -> None:
    with serving(FakeModelServer(mode="drip")) as server:
        url = proxy_for(document(endpoint("chat", server.url)))
        connection, response = _open_stream(_paths(url)[1], STREAM)
        assert response.readline().startswith(b"data: ")
        assert server.cancelled == []
        connection.sock.shutdown(2)  # type: ignore[union-attr]
        connection.close()
        # the 10 s stream stops at once
        assert wait_until(lambda: len(server.cancelled) == 1, timeout=3)
        assert wait_until(lambda: _in_flight(url).endswith(" 0.0"))


def test_client_leaving_a_whole_answer_cancels_the_upstream_request(proxy_for: Any) -> None:
    with serving(FakeModelServer(mode="slow", delay=10)) as server:
        url = proxy_for(document(endpoint("chat", server.url)))
        with pytest.raises(TimeoutError):
            call("POST", _paths(url)[0], CHAT, headers=USER, timeout=0.3)
        assert wait_until(lambda: len(server.cancelled) == 1, timeout=3)
        assert wait_until(lambda: _in_flight(url).endswith(" 0.0"))
        requests = call("GET", f"{url}/metrics").body.decode()
    assert 'llmops_proxy_requests_total{api="chat",code="499",endpoint="chat"} 1.0' in requests
