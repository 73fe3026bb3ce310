"""OpenAI's typed request fields: a value of the wrong type or out of range is a 400 in the route's
shape before any model server sees it (a truthy `stream` that is not `true` made the model server
stream while the proxy waited for one answer), and work multipliers (`n`, `best_of`, prompts per
request, inputs per embeddings request) are bounded."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmops.proxy.fields import BY_KIND, MAX_SEQUENCES, FieldError, check_fields
from tests.helpers.loopback import FakeModelServer, call, serving
from tests.proxy.conftest import USER, document, endpoint

CHAT = {"messages": [{"role": "user", "content": "hi"}]}
PATHS = {
    "chat": ("/llm-ops/v1/serve/chat/chat", "/llm-ops/v1/serve/chat/v1/chat/completions"),
    "completion": ("/llm-ops/v1/serve/chat/completion", "/llm-ops/v1/serve/chat/v1/completions"),
    "embeddings": ("/llm-ops/v1/serve/emb/embeddings", "/llm-ops/v1/serve/emb/v1/embeddings"),
}
BASE = {"chat": CHAT, "completion": {"prompt": "hi"}, "embeddings": {"input": "hi"}}


@pytest.fixture
def proxied() -> Any:
    """(proxy URL, model server) with a GENERATION endpoint `chat` and an EMBEDDING one `emb`."""
    from llmops.proxy.options import ProxyOptions
    from llmops.proxy.server import running_proxy
    from tests.proxy.conftest import config_of

    with serving(FakeModelServer()) as server:
        doc = document(
            endpoint("chat", server.url),
            endpoint("emb", server.url, serve_target="EMBEDDING"),
        )
        with running_proxy(config_of(doc), ProxyOptions()) as url:
            yield url, server


def _refused(url: str, kind: str, body: dict[str, Any]) -> list[str]:
    """The message of each route's 400 (asserting both routes refuse, each in its shape)."""
    messages = []
    for path in PATHS[kind]:
        reply = call("POST", url + path, body, headers=USER)
        assert reply.status == 400, (path, body, reply.body[:300])
        document = reply.json()
        assert document["status"] == "error"
        if "/v1/" in path.split("/serve/")[1]:
            assert document["error"]["type"] == "invalid_request_error"
        messages.append(document["message"])
    return messages


@pytest.mark.parametrize("value", [1, "true", "yes", "1", 0, "false", [], {}, 1.0])
def test_stream_must_be_a_boolean(proxied: Any, value: Any) -> None:
    url, server = proxied
    for kind in ("chat", "completion"):
        for message in _refused(url, kind, {**BASE[kind], "stream": value}):
            assert message.startswith("`stream` must be true or false, not ")
    assert server.requests == []


WRONG = [
    ("temperature", "hot"),
    ("temperature", 2.5),
    ("temperature", -0.1),
    ("temperature", True),
    ("top_p", 1.5),
    ("top_p", "0.9"),
    ("n", 100_000),
    ("n", 0),
    ("n", 2.0),
    ("n", "2"),
    ("max_tokens", "10"),
    ("max_tokens", 0),
    ("max_tokens", 10**30),
    ("max_completion_tokens", -1),
    ("presence_penalty", 3),
    ("frequency_penalty", [1]),
    ("seed", 2**64),
    ("seed", 1.5),
    ("stop", 5),
    ("stop", ["a"] * 17),
    ("stop", ["a", 1]),
    ("logit_bias", {"50256": 101}),
    ("logit_bias", []),
    ("logprobs", "yes"),
    ("top_logprobs", 21),
    ("user", 7),
    ("tools", {"type": "function"}),
    ("tools", ["lookup"]),
    ("tool_choice", 3),
    ("response_format", "json"),
    ("stream_options", True),
    ("top_k", -2),
    ("min_p", 2),
    ("repetition_penalty", 0),
    ("stop_token_ids", [-1]),
    ("ignore_eos", "no"),
    # an integer too long for a float once made these a 500 (math.isfinite overflowed)
    pytest.param("top_p", 10**400, id="top_p-400-digits"),
    pytest.param("logit_bias", {"50256": -(10**400)}, id="logit_bias-400-digits"),
    # once unchecked on chat, and then compared with `n`: a 500
    ("best_of", "x"),
    ("best_of", [1]),
    ("best_of", 1.5),
    ("best_of", 17),
]


@pytest.mark.parametrize(("field", "value"), WRONG)
def test_a_typed_field_of_the_wrong_type_or_range_is_a_400(
    proxied: Any, field: str, value: Any
) -> None:
    url, server = proxied
    for message in _refused(url, "chat", {**CHAT, field: value}):
        assert message.startswith(f"`{field}` must be ")
    assert server.requests == []


@pytest.mark.parametrize(
    ("kind", "field", "value", "expected"),
    [
        ("completion", "best_of", 17, "`best_of` must be an integer from 1 to 16"),
        ("completion", "logprobs", True, "`logprobs` must be an integer from 0 to 20"),
        ("completion", "echo", "yes", "`echo` must be true or false"),
        ("completion", "prompt", 5, "`prompt` must be a string, a list of strings"),
        ("completion", "prompt", [], "`prompt` must be a string, a list of strings"),
        ("completion", "prompt", ["a", 1], "`prompt` must be a string, a list of strings"),
        ("embeddings", "input", {"a": 1}, "`input` must be a string, a list of strings"),
        ("embeddings", "input", ["a"] * 2049, "`input` holds 2049 items; at most 2048"),
        ("embeddings", "encoding_format", "hex", "`encoding_format` must be one of"),
        ("embeddings", "dimensions", 0, "`dimensions` must be an integer from 1"),
        ("chat", "messages", [{"role": 1, "content": "x"}], "`messages[0].role` must be a name"),
        ("chat", "messages", [{"role": "x" * 65}], "`messages[0].role` must be a name"),
        ("chat", "messages", [{"role": "user", "content": 5}], "`messages[0].content` must be"),
        ("chat", "messages", [], "`messages` must be a non-empty list"),
    ],
)
def test_fields_of_each_kind(
    proxied: Any, kind: str, field: str, value: Any, expected: str
) -> None:
    url, server = proxied
    for message in _refused(url, kind, {**BASE[kind], field: value}):
        assert message.startswith(expected), message
    assert server.requests == []


@pytest.mark.parametrize(
    ("body", "sequences"),
    [
        ({"prompt": ["a"] * 17}, 17),
        ({"prompt": ["a", "b"], "n": 9}, 18),
        ({"prompt": [[1, 2]] * 4, "best_of": 5, "n": 2}, 20),
    ],
)
def test_sequences_per_request_are_bounded(
    proxied: Any, body: dict[str, Any], sequences: int
) -> None:
    url, server = proxied
    for message in _refused(url, "completion", body):
        assert message.startswith(f"the request asks for {sequences} sequences")
    assert server.requests == []


def test_values_in_range_and_null_pass(proxied: Any) -> None:
    url, server = proxied
    good = {
        **CHAT,
        "stream": False,
        "temperature": 0,
        "top_p": 1,
        "n": MAX_SEQUENCES,
        "max_tokens": 5,
        "seed": -(2**63),
        "stop": ["a"] * 16,
        "logit_bias": {"1": -100, "2": 100.0},
        "logprobs": True,
        "top_logprobs": 20,
        "user": "u",
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "tool_choice": "auto",
        "presence_penalty": None,
        "messages": [{"role": "ipython", "content": None}, {"role": "user", "content": "hi"}],
    }
    reply = call("POST", url + PATHS["chat"][1], good, headers=USER)
    assert reply.status == 200, reply.body[:300]
    completion = {"prompt": [[1, 2], [3]], "n": 2, "best_of": 8, "logprobs": 0, "echo": False}
    assert call("POST", url + PATHS["completion"][1], completion, headers=USER).status == 200
    assert len(server.requests) == 2


def test_the_openai_client_sees_the_message(proxied: Any) -> None:
    url, _ = proxied
    client = openai.OpenAI(
        base_url=f"{url}/llm-ops/v1/serve/chat/v1", api_key="x", default_headers=USER
    )
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}], n=99
        )
    assert "`n` must be an integer from 1 to 16, not 99" in str(raised.value)


_ANY_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


def test_no_value_of_a_known_field_is_an_internal_error_or_reaches_the_server_unchecked(
    proxied: Any,
) -> None:
    """Every known field with any JSON value: a 200 (then the value has the documented type) or a
    400 naming the field, never a 500 or a 502."""
    url, _ = proxied
    fields = sorted(set(BY_KIND["chat"]))

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(field=st.sampled_from(fields), value=_ANY_JSON)
    def check(field: str, value: Any) -> None:
        body = {**CHAT, field: value}
        reply = call("POST", url + PATHS["chat"][1], json.dumps(body).encode(), headers=USER)
        if reply.status == 200:
            assert value is None or BY_KIND["chat"][field](value) is None
        else:
            assert reply.status == 400, reply.body[:300]
            assert reply.json()["message"].startswith(f"`{field}` must be ")

    check()


@pytest.mark.parametrize(
    "body",
    [
        {**CHAT, "top_logprobs": 99, "stream": "yes", "max_tokens": "10"},
        {**CHAT, "max_tokens": "10", "stream": "yes", "top_logprobs": 99},
    ],
)
def test_of_several_wrong_fields_the_first_in_the_checks_order_is_named(
    body: dict[str, Any],
) -> None:
    """Whatever order the caller wrote them in, the same field is named: `stream`, the first of
    the three in the order the checks are listed."""
    with pytest.raises(FieldError) as refused:
        check_fields("chat", body)
    assert refused.value.message == "`stream` must be true or false, not 'yes'"
