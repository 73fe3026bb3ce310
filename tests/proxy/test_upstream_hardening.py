"""Model servers that misbehave in ways a size check, a redirect, a pooled connection or a stream
marker could miss: a small gzip answer that expands a thousandfold, a redirect elsewhere, an error
followed by more requests on the same connection, `data: [DONE]` inside a stream's content, a slow
first token, and a 4xx without OpenAI's error object."""

from __future__ import annotations

import json
import re
import resource
import time
from typing import Any

import openai
import pytest

from tests.helpers.loopback import FakeModelServer, call, serving
from tests.proxy.conftest import USER, document, endpoint

CHAT = {"messages": [{"role": "user", "content": "hi"}]}
STREAM = {**CHAT, "stream": True}
ORIGINAL_BODIES, OPENAI = (
    "/llm-ops/v1/serve/chat/chat",
    "/llm-ops/v1/serve/chat/v1/chat/completions",
)


def _events(body: bytes) -> list[str]:
    return [event for event in body.decode().split("\n\n") if event]


def test_a_compressed_answer_is_bounded_once_decoded(proxy_for: Any) -> None:
    server = FakeModelServer(mode="gzip_bomb", bomb_bytes=64 * 1024 * 1024)
    with serving(server):
        url = proxy_for(document(endpoint("chat", server.url)), max_response_bytes=1024 * 1024)
        peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for path in (ORIGINAL_BODIES, OPENAI):
            reply = call("POST", url + path, CHAT, headers=USER)
            assert reply.status == 502, reply.body[:200]
            assert reply.json()["message"] == (
                f"the model server of chat ({server.url}) sent more than the proxy "
                "holds (1048576 bytes once decompressed)"
            )
        health = call("GET", f"{url}/llm-ops/v1/serve/chat/health")
        metrics = call("GET", f"{url}/metrics").body.decode()
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    # 64 MiB per answer unbounded
    assert grown_mib < 48, f"the peak resident size grew by {grown_mib:.0f} MiB"
    assert (health.status, health.json()["status"]) == (503, "unhealthy")
    assert "holds (65536 bytes once decompressed)" in health.json()["message"]
    assert 'llmops_proxy_upstream_errors_total{endpoint="chat",kind="too_large"} 2.0' in metrics


def test_redirects_are_never_followed(proxy_for: Any) -> None:
    with (
        serving(FakeModelServer()) as elsewhere,
        serving(FakeModelServer(mode="redirect")) as server,
    ):
        server.redirect_to = elsewhere.url
        url = proxy_for(document(endpoint("chat", server.url)))
        for path, body in ((ORIGINAL_BODIES, CHAT), (OPENAI, CHAT), (OPENAI, STREAM)):
            reply = call("POST", url + path, body, headers=USER)
            assert reply.status == 502, (path, reply.body)
            assert (
                "answered with a redirect (HTTP 302), which the proxy does not follow"
                in reply.json()["message"]
            )
        health = call("GET", f"{url}/llm-ops/v1/serve/chat/health")
    assert health.status == 503
    assert health.json()["message"].endswith("is not ready (HTTP 302)")
    assert elsewhere.requests == []


@pytest.mark.parametrize("mode", ["error500", "empty500", "reject", "reject_plain"])
def test_a_connection_that_carried_an_error_is_not_reused(proxy_for: Any, mode: str) -> None:
    server = FakeModelServer()
    with serving(server):
        url = proxy_for(document(endpoint("chat", server.url)))
        assert call("POST", url + ORIGINAL_BODIES, CHAT, headers=USER).status == 200
        assert call("POST", url + ORIGINAL_BODIES, CHAT, headers=USER).status == 200
        server.mode = mode
        assert call("POST", url + ORIGINAL_BODIES, CHAT, headers=USER).status in (400, 404, 502)
        server.mode = "ok"
        assert call("POST", url + ORIGINAL_BODIES, CHAT, headers=USER).status == 200
    first, second, failed, after = server.peers
    assert first == second  # healthy answers do reuse the pooled connection
    assert failed == second  # the error arrived on it
    assert after != failed  # and it was not used again


def test_a_stream_that_ended_cleanly_gives_its_connection_back(proxy_for: Any) -> None:
    """A stream ending in [DONE] and the end of its body leaves its connection pooled for the next
    request; one with anything after [DONE] is closed (what followed was never relayed)."""
    clean = [b'data: {"choices": []}\n\n', b"data: [DONE]\n\n"]
    server = FakeModelServer(mode="stream_events", events=clean)
    with serving(server):
        url = proxy_for(document(endpoint("chat", server.url)))
        for _ in range(2):
            reply = call("POST", url + OPENAI, STREAM, headers=USER)
            assert _events(reply.body) == ['data: {"choices": []}', "data: [DONE]"]
        server.events = [*clean, b'data: {"after": "done"}\n\n']
        reply = call("POST", url + OPENAI, STREAM, headers=USER)
        assert _events(reply.body) == ['data: {"choices": []}', "data: [DONE]"]
        server.events = clean
        assert call("POST", url + OPENAI, STREAM, headers=USER).status == 200
    first, second, trailing, after = server.peers
    assert first == second == trailing  # clean streams reuse the pooled connection
    assert after != trailing  # the one with bytes after [DONE] was closed


@pytest.mark.parametrize(
    ("mode", "fault"),
    [
        ("done_in_content", "ended the stream without data: [DONE]"),
        ("done_in_content_cut", "cut the connection in the middle of a stream"),
    ],
)
def test_done_inside_the_content_is_not_the_end_of_the_stream(
    proxy_for: Any, mode: str, fault: str
) -> None:
    with serving(FakeModelServer(mode=mode)) as server:
        url = proxy_for(document(endpoint("chat", server.url)))
        reply = call("POST", url + OPENAI, STREAM, headers=USER)
        events = _events(reply.body)
        assert (
            json.loads(events[0][len("data: ") :])["choices"][0]["delta"]["content"]
            == "data: [DONE]"
        )
        error = json.loads(events[-1][len("data: ") :])["error"]
        assert error["message"].endswith(fault)
        client = openai.OpenAI(
            base_url=f"{url}/llm-ops/v1/serve/chat/v1",
            api_key="unused",
            default_headers=USER,
            max_retries=0,
        )
        with pytest.raises(openai.APIError, match=re.escape(fault)):
            for _ in client.chat.completions.create(
                model="chat", messages=[{"role": "user", "content": "hi"}], stream=True
            ):
                pass


def test_a_streams_first_piece_may_take_the_response_timeout(proxy_for: Any) -> None:
    with serving(FakeModelServer(mode="late_start", delay=0.8)) as server:
        url = proxy_for(
            document(endpoint("chat", server.url)), stream_idle_timeout=0.3, response_timeout=5
        )
        reply = call("POST", url + OPENAI, STREAM, headers=USER)
    events = _events(reply.body)
    assert events[-1] == "data: [DONE]", events[-1]


def test_a_stream_that_never_starts_ends_after_the_response_timeout(proxy_for: Any) -> None:
    with serving(FakeModelServer(mode="late_start", delay=30)) as server:
        url = proxy_for(
            document(endpoint("chat", server.url)), stream_idle_timeout=5, response_timeout=0.5
        )
        started = time.monotonic()
        reply = call("POST", url + OPENAI, STREAM, headers=USER)
        assert time.monotonic() - started < 4
    error = json.loads(_events(reply.body)[-1][len("data: ") :])["error"]
    assert error == {
        "message": (
            f"the model server of chat ({server.url}) sent nothing within 0.5 s of the request"
        ),
        "type": "upstream_error",
        "code": 504,
    }


def test_a_4xx_without_openais_error_object_gets_one(proxy_for: Any) -> None:
    with serving(FakeModelServer(mode="reject_plain")) as server:
        url = proxy_for(document(endpoint("chat", server.url)))
        client = openai.OpenAI(
            base_url=f"{url}/llm-ops/v1/serve/chat/v1",
            api_key="unused",
            default_headers=USER,
            max_retries=0,
        )
        with pytest.raises(
            openai.NotFoundError, match=r"refused the request \(HTTP 404\): .*Not Found"
        ):
            client.chat.completions.create(
                model="chat", messages=[{"role": "user", "content": "hi"}]
            )
        streamed = call("POST", url + OPENAI, STREAM, headers=USER)
    assert streamed.status == 404
    assert streamed.json()["error"]["code"] == 404


@pytest.mark.slow
def test_idle_pooled_connections_are_dropped_before_uvicorns_keep_alive_ends(
    proxy_for: Any,
) -> None:
    """KServe's and vLLM's servers (uvicorn) close a connection idle for 5 s; a request sent on it
    just then fails. The proxy's pool lets idle connections go first."""
    server = FakeModelServer()
    with serving(server):
        url = proxy_for(document(endpoint("chat", server.url)))
        assert call("POST", url + ORIGINAL_BODIES, CHAT, headers=USER).status == 200
        time.sleep(5.0)
        assert call("POST", url + ORIGINAL_BODIES, CHAT, headers=USER).status == 200
    assert server.peers[0] != server.peers[1]


def test_a_4xx_whose_body_is_not_json_is_passed_on(proxy_for: Any) -> None:
    """A model server's 418 text/plain is its verdict, not a fault: the status is passed on with its
    text as the message (OpenAI's `error` object on the OpenAI routes), not turned into a 502."""
    with serving(FakeModelServer(mode="teapot")) as server:
        url = proxy_for(document(endpoint("chat", server.url)))
        for path, body in ((ORIGINAL_BODIES, CHAT), (OPENAI, CHAT), (OPENAI, STREAM)):
            reply = call("POST", url + path, body, headers=USER)
            assert reply.status == 418, (path, reply.body)
            answer = reply.json()
            assert answer["status"] == "error"
            assert "(HTTP 418): I'm a teapot" in answer["message"]
            if path == OPENAI:
                assert answer["error"]["code"] == 418
        client = openai.OpenAI(base_url=f"{url}/llm-ops/v1/serve/chat/v1", api_key="x")
        with pytest.raises(openai.APIStatusError) as raised:
            client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hi"}], extra_headers=USER
            )
        assert raised.value.status_code == 418
        assert "I'm a teapot" in str(raised.value)


@pytest.mark.parametrize(
    "answer",
    [
        b'{"choices": [{"message": {"role": "assistant", "content": "a\xed\xa0\x80b"}}]}',
        '{"choices": [{"message": {"role": "assistant", "content": "ab"}}]}'.encode("utf-16"),
    ],
)
def test_an_answer_that_is_not_utf8_is_a_502_not_relayed(proxy_for: Any, answer: bytes) -> None:
    """JSON between systems is UTF-8 (RFC 8259); the OpenAI route relays an answer's bytes as
    received, so one that is not (a surrogate written as its bytes, UTF-16) reached the caller as
    text no UTF-8 reader takes (found from outside). The standard library's parser, which reads
    what orjson refuses, takes both."""
    server = FakeModelServer(mode="raw", raw_body=answer)
    with serving(server):
        url = proxy_for(document(endpoint("chat", server.url)))
        for path in ("/llm-ops/v1/serve/chat/v1/chat/completions", "/llm-ops/v1/serve/chat/chat"):
            reply = call("POST", url + path, CHAT, headers=USER)
            assert reply.status == 502, (path, reply.body[:200])
            assert "not UTF-8" in reply.body.decode()
