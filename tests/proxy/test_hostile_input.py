"""What a hostile or careless caller sends: names nobody configured (metric labels), JSON that is
not JSON (NaN, Infinity, numbers past a double, nesting thousands deep), header bytes that are not
UTF-8, and input hidden where a token limit did not look. Each is a 4xx in the right envelope, never
a 500, and nothing a caller sends becomes a metric label."""

from __future__ import annotations

import json
import random
import string
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.loopback import FakeModelServer, call, raw_exchange, serving
from tests.proxy.conftest import USER, document, endpoint

CHAT = {"messages": [{"role": "user", "content": "hi"}]}
UNKNOWN_ENDPOINT = "(unknown)"  # the one label every name nobody configured shares
HYPOTHESIS = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def model_server() -> Any:
    with serving(FakeModelServer()) as server:
        yield server


# --- metric labels
# ---------------------------------------------------------------------------------------


def _series(metrics: str) -> list[str]:
    return sorted(
        line.rsplit(" ", 1)[0] for line in metrics.splitlines() if line and not line.startswith("#")
    )


def test_names_nobody_configured_share_one_label(
    proxy_for: Any, model_server: FakeModelServer
) -> None:
    url = proxy_for(document(endpoint("chat", model_server.url)))
    rng = random.Random(7)

    def hostile_round() -> None:
        name = "".join(
            rng.choices(string.ascii_letters + string.digits + "-_.~", k=rng.randint(1, 300))
        )
        for method, path, body in (
            ("POST", f"/llm-ops/v1/serve/{name}/chat", CHAT),
            ("POST", f"/llm-ops/v1/serve/{name}/v1/chat/completions", CHAT),
            ("POST", f"/llm-ops/v1/serve/{name}/embeddings", {"input": "x"}),
            ("GET", f"/llm-ops/v1/serve/{name}/v1/models", None),
            ("GET", f"/llm-ops/v1/serve/{name}/health", None),
            ("GET", f"/llm-ops/v1/serving/endpoints/{name}", None),
            ("GET", f"/llm-ops/v1/prompts/experiments/{name}", None),
        ):
            for headers in (USER, {}):
                assert call(method, url + path, body, headers=headers).status in (401, 404)

    hostile_round()
    call("POST", f"{url}/llm-ops/v1/serve/chat/chat", CHAT, headers=USER)
    before = call("GET", f"{url}/metrics").body.decode()
    for _ in range(60):
        hostile_round()
    after = call("GET", f"{url}/metrics").body.decode()
    assert _series(after) == _series(before)  # not one series more after 840 more hostile requests
    assert (
        f'llmops_proxy_rejected_requests_total{{endpoint="{UNKNOWN_ENDPOINT}",reason="not_found"}}'
        in after
    )
    assert len(after) < 20_000


def test_no_url_name_becomes_a_label(proxy_for: Any) -> None:
    url = proxy_for(document(endpoint("chat", "http://127.0.0.1:1")))

    @HYPOTHESIS
    @given(name=st.text(min_size=1, max_size=60).filter(lambda text: text not in (".", "..")))
    def check(name: str) -> None:
        quoted = quote(name, safe="")
        for method, path in (
            ("POST", f"/llm-ops/v1/serve/{quoted}/chat"),
            ("GET", f"/llm-ops/v1/serve/{quoted}/v1/models"),
        ):
            reply = call(method, url + path, CHAT if method == "POST" else None, headers=USER)
            assert reply.status == 404, reply.body
            assert reply.json()["status"] == "error"
        labels = {
            value
            for line in _series(call("GET", f"{url}/metrics").body.decode())
            for value in line.split('"')[1::2]
        }
        assert labels <= {UNKNOWN_ENDPOINT, "chat", "openai-models", "not_found", "404"}

    check()


# --- bodies that are not JSON
# ----------------------------------------------------------------------------

NOT_JSON_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1E400", "123456789e500"]


@pytest.mark.parametrize("number", NOT_JSON_NUMBERS)
def test_non_finite_numbers_are_refused(
    proxy_for: Any, model_server: FakeModelServer, number: str
) -> None:
    url = proxy_for(document(endpoint("chat", model_server.url)))
    raw = (
        b'{"messages": [{"role": "user", "content": "hi"}], "temperature": '
        + number.encode()
        + b"}"
    )
    for path in ("/llm-ops/v1/serve/chat/chat", "/llm-ops/v1/serve/chat/v1/chat/completions"):
        reply = call("POST", url + path, raw, headers=USER)
        assert reply.status == 400
        assert reply.json()["message"].startswith("the request body is not valid JSON (")
    assert model_server.requests == []


def _json_values(leaf: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaf,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=8,
    )


def test_a_non_finite_number_anywhere_is_refused(
    proxy_for: Any, model_server: FakeModelServer
) -> None:
    url = proxy_for(document(endpoint("chat", model_server.url)))

    @HYPOTHESIS
    @given(extra=_json_values(st.just("__HOLE__")), number=st.sampled_from(NOT_JSON_NUMBERS))
    def check(extra: Any, number: str) -> None:
        text = json.dumps({**CHAT, "extra": extra}).replace('"__HOLE__"', number)
        reply = call("POST", f"{url}/llm-ops/v1/serve/chat/chat", text.encode(), headers=USER)
        assert reply.status == (400 if number in text else 200), reply.body

    check()


@pytest.mark.parametrize("depth", [65, 1_000, 3_000, 100_000])
def test_deep_nesting_is_refused_not_an_internal_error(
    proxy_for: Any, model_server: FakeModelServer, depth: int
) -> None:
    url = proxy_for(
        document(
            endpoint(
                "chat",
                model_server.url,
                limits={
                    "maxConcurrentRequests": 4,
                    "maxInputTokens": 100_000,
                    "maxOutputTokens": 100,
                },
            )
        )
    )
    for opener, closer in ((b"[", b"]"), (b'{"a":', b"}")):
        nested = opener * depth + b"1" + closer * depth
        raw = b'{"messages": [{"role": "user", "content": ' + nested + b"}]}"
        reply = call("POST", f"{url}/llm-ops/v1/serve/chat/chat", raw, headers=USER)
        assert reply.status == 400, reply.body[:200]
        assert "nest more than 64 levels deep" in reply.json()["message"]
    assert model_server.requests == []
    shallow = (
        b'{"messages": [{"role": "user", "content": "hi", "x": ' + b"[" * 30 + b"]" * 30 + b"}]}"
    )
    assert call("POST", f"{url}/llm-ops/v1/serve/chat/chat", shallow, headers=USER).status == 200


@pytest.mark.parametrize(
    "raw",
    [
        b'{"messages": [{"role": "user", "content": "a\\ud800b"}]}',
        b'{"messages": [{"role": "user", "content": "a\\uDFFFb"}]}',
        b'{"messages": [{"role": "user", "content": "\\ude00\\ud83d"}]}',  # a pair reversed
        b'{"messages": [{"role": "user", "content": "hi", "name": "\\ud83d"}]}',
        b'{"messages": [{"role": "user", "content": "hi"}], "x": {"\\udbff": 1}}',
        b'{"messages": [{"role": "user", "content": [{"type": "text", "text": "\\udc00"}]}]}',
        # not escaped, or not UTF-8 (found from outside: these reached the model server)
        b'{"messages": [{"role": "user", "content": "a\xed\xa0\x80b"}]}',
        '{"messages": [{"role": "user", "content": "a\\ud800b"}]}'.encode("utf-16-le"),
        '{"messages": [{"role": "user", "content": "a\\ud800b"}]}'.encode("utf-32"),
        '{"messages": [{"role": "user", "content": "a\ud800b"}]}'.encode(
            "utf-16-be", "surrogatepass"
        ),
    ],
)
def test_a_lone_surrogate_anywhere_is_a_400(
    proxy_for: Any, model_server: FakeModelServer, raw: bytes
) -> None:
    url = proxy_for(document(endpoint("chat", model_server.url)))
    for path in ("/llm-ops/v1/serve/chat/chat", "/llm-ops/v1/serve/chat/v1/chat/completions"):
        reply = call("POST", url + path, raw, headers=USER)
        assert reply.status == 400, reply.body
        assert "surrogate that is not part of a pair" in reply.json()["message"]
    assert model_server.requests == []


def test_a_surrogate_pair_and_an_escaped_backslash_pass(
    proxy_for: Any, model_server: FakeModelServer
) -> None:
    url = proxy_for(document(endpoint("chat", model_server.url)))
    raw = b'{"messages": [{"role": "user", "content": "\\ud83d\\ude00 \\\\ud800"}]}'
    reply = call("POST", f"{url}/llm-ops/v1/serve/chat/chat", raw, headers=USER)
    assert reply.status == 200, reply.body
    assert model_server.requests[0]["messages"][0]["content"] == "\U0001f600 \\ud800"


# --- header bytes that are not UTF-8
# ----------------------------------------------------------------------


def _raw_get(url: str, path: str, headers: list[tuple[bytes, bytes]]) -> Any:
    lines = [f"GET {path} HTTP/1.1".encode(), b"Host: proxy", b"Connection: close"]
    lines += [name + b": " + value for name, value in headers]
    return raw_exchange(url, b"\r\n".join(lines) + b"\r\n\r\n")


@pytest.mark.parametrize(
    ("header", "value", "status", "message"),
    [
        (b"X-User-Id", b"\xff\xfeadmin", 400, "the X-User-Id header is not valid UTF-8"),
        (b"X-User-Roles", b"llm-ops-user,\xc3(", 400, "the X-User-Roles header is not valid UTF-8"),
        (b"Authorization", b"Bearer s3cr\xe9t", 401, "a valid bearer token is required"),
        (b"Authorization", b"\xff\xff", 401, "a valid bearer token is required"),
    ],
)
def test_header_bytes_that_are_not_utf8(
    proxy_for: Any, header: bytes, value: bytes, status: int, message: str
) -> None:
    url = proxy_for(
        document(endpoint("chat", "http://127.0.0.1:1"), token_secret="proxy-token"), token="s3cret"
    )
    headers = {
        b"X-User-Id": b"admin",
        b"X-User-Roles": b"llm-ops-user",
        b"Authorization": b"Bearer s3cret",
    }
    headers[header] = value
    for path in ("/llm-ops/v1/serving/endpoints", "/llm-ops/v1/serve/chat/v1/models"):
        reply = _raw_get(url, path, list(headers.items()))
        assert reply.status == status, reply.body
        assert reply.head.lower().count("content-type: application/json") == 1
        assert reply.json()["message"].startswith(message)


def test_no_header_value_gives_an_internal_error(
    proxy_for: Any, model_server: FakeModelServer
) -> None:
    url = proxy_for(
        document(endpoint("chat", model_server.url), token_secret="proxy-token"), token="s3cret"
    )

    @HYPOTHESIS
    @given(
        header=st.sampled_from([b"X-User-Id", b"X-User-Roles", b"Authorization", b"X-Request-Id"]),
        value=st.binary(min_size=1, max_size=40),
        path=st.sampled_from(["/llm-ops/v1/serving/endpoints", "/llm-ops/v1/serve/chat/v1/models"]),
    )
    def check(header: bytes, value: bytes, path: str) -> None:
        headers = {
            b"X-User-Id": b"admin",
            b"X-User-Roles": b"llm-ops-user",
            b"Authorization": b"Bearer s3cret",
            header: value.replace(b"\r", b"").replace(b"\n", b""),
        }
        reply = _raw_get(url, path, list(headers.items()))
        assert reply.status in (200, 400, 401, 403), reply.body
        assert reply.head.lower().count("content-type: application/json") == 1, reply.head
        if reply.status != 200:
            assert reply.json()["status"] == "error"

    check()


# --- input hidden from the token limit
# -------------------------------------------------------------------

LIMITED = {"maxConcurrentRequests": 4, "maxInputTokens": 100, "maxOutputTokens": 50}
LONG = "lorem ipsum dolor sit amet " * 400  # about 2,000 tokens by the estimate


def _tool(description: str = "look up an order", key: str = "order_id") -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": description,
            "parameters": {"type": "object", "properties": {key: {"type": "string"}}},
        },
    }


HIDDEN = {
    "tools[].function.description": {**CHAT, "tools": [_tool(description=LONG)]},
    "tools[].function.parameters keys": {**CHAT, "tools": [_tool(key=LONG.replace(" ", "_"))]},
    "messages[].name": {"messages": [{"role": "user", "name": LONG, "content": "hi"}]},
    "messages[].tool_calls arguments": {
        "messages": [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": json.dumps({"q": LONG})},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "1", "content": "ok"},
        ]
    },
    "image parts": {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
                ]
                * 3,
            }
        ]
    },
    "text hidden in an image part": {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "https://x/a.png", "detail": LONG}}
                ],
            }
        ]
    },
    "an unknown field": {**CHAT, "documents": [{"title": "a", "text": LONG}]},
    "functions (the older name of tools)": {
        **CHAT,
        "functions": [_tool(description=LONG)["function"]],
    },
}


@pytest.mark.parametrize("where", list(HIDDEN))
def test_input_hidden_outside_the_content_is_counted(
    proxy_for: Any, model_server: FakeModelServer, where: str
) -> None:
    url = proxy_for(document(endpoint("chat", model_server.url, limits=LIMITED)))
    for path in ("/llm-ops/v1/serve/chat/chat", "/llm-ops/v1/serve/chat/v1/chat/completions"):
        reply = call("POST", url + path, HIDDEN[where], headers=USER)
        assert reply.status == 400, (where, reply.body)
        assert "max_input_tokens of 100" in reply.json()["message"]
    assert model_server.requests == []
    fits = call(
        "POST", f"{url}/llm-ops/v1/serve/chat/chat", {**CHAT, "tools": [_tool()]}, headers=USER
    )
    assert fits.status == 200


def test_completion_suffix_and_embedding_inputs_are_counted(
    proxy_for: Any, model_server: FakeModelServer
) -> None:
    url = proxy_for(
        document(
            endpoint("text", model_server.url, limits=LIMITED),
            endpoint("vectors", model_server.url, limits=LIMITED, serve_target="EMBEDDING"),
        )
    )
    assert (
        call(
            "POST",
            f"{url}/llm-ops/v1/serve/text/completion",
            {"prompt": "a", "suffix": LONG},
            headers=USER,
        ).status
        == 400
    )
    assert (
        call(
            "POST",
            f"{url}/llm-ops/v1/serve/vectors/embeddings",
            {"input": ["a", LONG]},
            headers=USER,
        ).status
        == 400
    )
    assert model_server.requests == []


def test_long_text_anywhere_a_model_may_read_is_counted(proxy_for: Any) -> None:
    url = proxy_for(document(endpoint("chat", "http://127.0.0.1:1", limits=LIMITED)))

    @HYPOTHESIS
    @given(
        path=st.lists(
            st.sampled_from(
                ["tools", "function", "parameters", "description", "name", "extra", "x"]
            ),
            min_size=1,
            max_size=4,
        ),
        as_list=st.booleans(),
        where=st.sampled_from(["message", "top"]),
    )
    def check(path: list[str], as_list: bool, where: str) -> None:
        value: Any = LONG
        for key in reversed(path):
            value = [{key: value}] if as_list else {key: value}
        body: dict[str, Any] = {"messages": [{"role": "user", "content": "hi"}]}
        if where == "message":
            body["messages"][0][path[0]] = value
        else:
            body[path[0]] = value
        reply = call("POST", f"{url}/llm-ops/v1/serve/chat/chat", body, headers=USER)
        message = reply.json()["message"]
        # `tools` that is not a list of objects is refused for its type before it is counted
        assert reply.status == 400, (body, reply.body)
        assert "max_input_tokens" in message or message.startswith("`tools` must be "), message

    check()


def test_counting_stops_past_the_limit(proxy_for: Any, model_server: FakeModelServer) -> None:
    url = proxy_for(document(endpoint("chat", model_server.url, limits=LIMITED)))
    huge = {"messages": [{"role": "user", "content": "word " * 700_000}]}  # 3.5 MB
    reply = call("POST", f"{url}/llm-ops/v1/serve/chat/chat", huge, headers=USER)
    assert reply.status == 400
    assert reply.json()["message"].startswith("the input is more than 1600 tokens (estimated)")


def test_a_request_id_that_is_not_a_plain_token_is_not_forwarded(
    proxy_for: Any, model_server: FakeModelServer
) -> None:
    url = proxy_for(document(endpoint("chat", model_server.url)))
    body = json.dumps(CHAT).encode()
    for request_id in (b"\xff\xfe", b"a" * 300, b"two words"):
        head = (
            b"POST /llm-ops/v1/serve/chat/chat HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n"
            b"X-User-Id: u1\r\nX-User-Roles: llm-ops-user\r\nContent-Type: application/json\r\n"
            b"X-Request-Id: " + request_id + b"\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        assert raw_exchange(url, head + body).status == 200
    assert all("X-Request-Id" not in headers for headers in model_server.headers)
