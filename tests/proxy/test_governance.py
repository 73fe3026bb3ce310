"""The original platform's governance: X-User-Id and X-User-Roles, the llm-ops-user role,
per-endpoint roles, and the shared bearer token that makes the headers count."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.loopback import FakeModelServer, call, serving
from tests.proxy.conftest import USER, document, endpoint

CHAT = {"messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({}, 401, "the X-User-Id and X-User-Roles headers are required"),
        ({"X-User-Id": "u1"}, 401, "the X-User-Id and X-User-Roles headers are required"),
        (
            {"X-User-Id": "u1", "X-User-Roles": " , "},
            401,
            "the X-User-Id and X-User-Roles headers are required",
        ),
        (
            {"X-User-Id": "u1", "X-User-Roles": "researcher"},
            403,
            "the role llm-ops-user is required",
        ),
    ],
)
def test_identity_is_required(
    proxy_for: Any, headers: dict[str, str], status: int, message: str
) -> None:
    server = FakeModelServer()
    with serving(server):
        url = proxy_for(document(endpoint("chat", server.url)))
        for path in ("/llm-ops/v1/serving/endpoints", "/llm-ops/v1/prompts/experiments"):
            reply = call("GET", url + path, headers=headers)
            assert (reply.status, reply.json()["status"]) == (status, "error")
            assert reply.json()["message"].startswith(message)
        reply = call("POST", f"{url}/llm-ops/v1/serve/chat/chat", CHAT, headers=headers)
        assert reply.status == status
        assert reply.json() == {"status": "error", "message": reply.json()["message"], "data": None}
    assert server.requests == []


def test_roles_are_a_comma_separated_list(proxy_for: Any) -> None:
    with serving(FakeModelServer()) as server:
        url = proxy_for(document(endpoint("chat", server.url)))
        reply = call(
            "POST",
            f"{url}/llm-ops/v1/serve/chat/chat",
            CHAT,
            headers={"X-User-Id": "admin", "X-User-Roles": "admin, llm-ops-user"},
        )
        assert reply.status == 200


def test_allowed_roles_of_an_endpoint(proxy_for: Any) -> None:
    with serving(FakeModelServer()) as server:
        url = proxy_for(
            document(endpoint("chat", server.url, allowed_roles=["researcher", "support"]))
        )
        refused = call("POST", f"{url}/llm-ops/v1/serve/chat/chat", CHAT, headers=USER)
        assert refused.status == 403
        assert "open to the roles researcher, support" in refused.json()["message"]
        allowed = call(
            "POST",
            f"{url}/llm-ops/v1/serve/chat/chat",
            CHAT,
            headers={"X-User-Id": "u1", "X-User-Roles": "llm-ops-user,support"},
        )
        assert allowed.status == 200
        assert len(server.requests) == 1


def test_bearer_token_must_accompany_the_headers(proxy_for: Any) -> None:
    with serving(FakeModelServer()) as server:
        url = proxy_for(
            document(endpoint("chat", server.url), token_secret="proxy-token"), token="s3cret"
        )
        for authorization in (None, "Bearer wrong", "Basic s3cret", "s3cret"):
            headers = {**USER, **({"Authorization": authorization} if authorization else {})}
            reply = call("POST", f"{url}/llm-ops/v1/serve/chat/chat", CHAT, headers=headers)
            assert reply.status == 401, authorization
            assert "bearer token" in reply.json()["message"]
        ok = call(
            "POST",
            f"{url}/llm-ops/v1/serve/chat/chat",
            CHAT,
            headers={**USER, "Authorization": "Bearer s3cret"},
        )
        assert ok.status == 200
        assert "Authorization" not in server.headers[0]  # the token stays at the proxy
        # probes and scrapers need no identity
        assert call("GET", f"{url}/llm-ops/v1/health").status == 200
        assert call("GET", f"{url}/metrics").status == 200
