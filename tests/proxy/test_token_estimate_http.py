"""Input that a token estimate counting only words let through: runs of whitespace and control
characters, text in a message's role or a content part's type, and parameters the model does not
read but the proxy forwards. With `max_input_tokens` 4096, each is a 400 before the model server;
ordinary English of the same size is refused as before, a short prompt passes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.loopback import FakeModelServer, call, serving
from tests.proxy.conftest import USER, document, endpoint

LIMITS = {"maxConcurrentRequests": 4, "maxInputTokens": 4096, "maxOutputTokens": 64}
OPENAI = "/llm-ops/v1/serve/chat/v1/chat/completions"


def _chat(content: Any, role: str = "user", **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": role, "content": content}], **extra}


HIDDEN = {
    "spaces": _chat("echo" + " " * 3_900_000),
    "DEL": _chat("echo" + "\x7f" * 600_000),  # 6 bytes each as JSON
    "U+0001": _chat("echo" + "\x01" * 600_000),
    "newlines": _chat("echo" + "\n" * 1_900_000),
    "tabs": _chat("echo" + "\t" * 1_900_000),
    "part type": _chat([{"type": "text " + "word " * 700_000, "text": "echo"}]),
    "name": {"messages": [{"role": "user", "content": "echo", "name": "\n" * 100_000}]},
}
UNREAD = {
    "stop": _chat("echo", stop=["a" * 3_900_000]),
    "user": _chat("echo", user="q" * 3_900_000),
    "stream_options": _chat("echo", stream_options={"x": "word " * 700_000}),
    "chat_template": _chat("echo", chat_template="{{ 'word ' * 10000000 }}"),
    "logit_bias": _chat("echo", logit_bias={str(i): 1 for i in range(200_000)}),
}


@pytest.fixture
def limited(proxy_for: Any) -> Any:
    with serving(FakeModelServer()) as server:
        yield proxy_for(document(endpoint("chat", server.url, limits=LIMITS))), server


@pytest.mark.parametrize("name", sorted(HIDDEN))
def test_text_that_words_alone_do_not_count_is_counted(limited: Any, name: str) -> None:
    url, server = limited
    reply = call("POST", url + OPENAI, HIDDEN[name], headers=USER)
    assert reply.status == 400, reply.body[:300]
    assert "max_input_tokens of 4096" in reply.json()["message"]
    assert server.requests == []


def test_text_in_a_role_is_refused(limited: Any) -> None:
    """A role is a name: long text there is refused before it could be counted (and a short role
    counts, see tests/proxy/test_tokens.py)."""
    url, server = limited
    body = _chat("echo", role="user " + "word " * 700_000)
    reply = call("POST", url + OPENAI, body, headers=USER)
    assert reply.status == 400, reply.body[:300]
    assert reply.json()["message"].startswith("`messages[0].role` must be a name of 1 to 64")
    assert server.requests == []


@pytest.mark.parametrize("name", sorted(UNREAD))
def test_parameters_the_model_does_not_read_are_bounded(limited: Any, name: str) -> None:
    url, server = limited
    reply = call("POST", url + OPENAI, UNREAD[name], headers=USER)
    assert reply.status == 400, reply.body[:300]
    assert reply.json()["error"]["message"].startswith(f"`{name}` must be ")
    assert server.requests == []


def test_ordinary_text_still_passes(limited: Any) -> None:
    url, server = limited
    text = "Hello! Can you help me?\n\nI lost my password.  Thanks,\n\tAlice"
    reply = call("POST", url + OPENAI, _chat(text, stream_options=None), headers=USER)
    assert reply.status == 200, reply.body[:300]
    assert server.requests[0]["messages"][0]["content"] == text
