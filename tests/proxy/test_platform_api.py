"""The platform API around inference: health, endpoint listing with the original platform's filters,
per-endpoint health, experiments, metrics, and envelopes for unknown routes."""

from __future__ import annotations

from typing import Any

from tests.helpers.loopback import FakeModelServer, call, free_port, raw_exchange, serving
from tests.proxy.conftest import USER, document, endpoint, experiment


def test_health_is_open_and_names_the_environment(proxy_for: Any) -> None:
    url = proxy_for(document())
    reply = call("GET", f"{url}/llm-ops/v1/health")
    assert reply.status == 200
    assert reply.json()["status"] == "success"
    assert reply.json()["data"]["environment"] == "dev"


def test_listing_with_the_original_platform_filters(proxy_for: Any) -> None:
    with serving(FakeModelServer()) as up:
        down = f"http://127.0.0.1:{free_port()}"
        url = proxy_for(document(endpoint("chat", up.url), endpoint("gone", down)))
        listed = call("GET", f"{url}/llm-ops/v1/serving/endpoints", headers=USER).json()
        assert listed["status"] == "success"
        by_id = {e["id"]: e for e in listed["data"]}
        assert by_id["chat"]["status"] == "healthy"
        assert by_id["gone"]["status"] == "unhealthy"
        assert "cannot connect" in by_id["gone"]["statusMessage"]
        assert by_id["chat"]["route"] == "/llm-ops/v1/serve/chat"
        assert (by_id["chat"]["minReplicas"], by_id["chat"]["maxReplicas"]) == (1, 1)

        def ids(query: str) -> list[str]:
            return sorted(
                e["id"]
                for e in call(
                    "GET", f"{url}/llm-ops/v1/serving/endpoints?{query}", headers=USER
                ).json()["data"]
            )

        assert ids("environment=dev") == ["chat", "gone"]
        assert ids("environment=prod") == []
        assert ids("status=healthy") == ["chat"]
        assert ids("modelId=base@1.0&status=unhealthy") == ["gone"]
        assert ids("modelId=base-1.0") == [
            "chat",
            "gone",
        ]  # the original platform's name-version form
        assert ids("modelId=other@1.0") == []


def test_one_endpoint_and_its_health(proxy_for: Any) -> None:
    server = FakeModelServer()
    with serving(server):
        url = proxy_for(
            document(
                endpoint(
                    "chat",
                    server.url,
                    limits={
                        "maxConcurrentRequests": 4,
                        "maxInputTokens": 100,
                        "maxOutputTokens": 50,
                    },
                )
            )
        )
        detail = call("GET", f"{url}/llm-ops/v1/serving/endpoints/chat", headers=USER).json()[
            "data"
        ]
        assert detail["runtime"] == {
            "max_concurrent_requests": 4,
            "max_input_tokens": 100,
            "max_output_tokens": 50,
        }
        missing = call("GET", f"{url}/llm-ops/v1/serving/endpoints/nope", headers=USER)
        assert (missing.status, missing.json()["status"]) == (404, "error")

        health = call("GET", f"{url}/llm-ops/v1/serve/chat/health")
        assert health.status == 200
        assert health.json()["status"] == "healthy"
        assert health.json()["model"] == {"name": "base", "version": "1.0"}
        assert health.json()["timestamp"].endswith("Z")
        server.mode = "not_ready"
        health = call("GET", f"{url}/llm-ops/v1/serve/chat/health")
        assert (health.status, health.json()["status"]) == (503, "unhealthy")
        assert "not ready" in health.json()["message"]


def test_vllm_readiness_route(proxy_for: Any) -> None:
    server = FakeModelServer()
    with serving(server):
        url = proxy_for(document(endpoint("chat", server.url, api="vllm-openai")))
        assert call("GET", f"{url}/llm-ops/v1/serve/chat/health").status == 200
        server.mode = "not_ready"
        assert call("GET", f"{url}/llm-ops/v1/serve/chat/health").status == 503


def test_experiments_listing_and_unknown_id(proxy_for: Any) -> None:
    url = proxy_for(
        document(endpoint("chat", "http://127.0.0.1:1"), experiments=[experiment("chat", 30)])
    )
    listed = call("GET", f"{url}/llm-ops/v1/prompts/experiments", headers=USER).json()["data"]
    assert [(e["id"], e["allocation"], e["status"]) for e in listed] == [("tone", 30, "running")]
    one = call("GET", f"{url}/llm-ops/v1/prompts/experiments/tone", headers=USER).json()["data"]
    assert one["variants"]["A"] == {
        "templateId": "terse",
        "requests": 0,
        "errors": 0,
        "errorRate": None,
        "latencyMs": None,
        "outputTokens": 0,
    }
    assert call("GET", f"{url}/llm-ops/v1/prompts/experiments/nope", headers=USER).status == 404


def test_unknown_routes_and_methods_answer_in_the_envelope(proxy_for: Any) -> None:
    url = proxy_for(document(endpoint("chat", "http://127.0.0.1:1")))
    missing = call("GET", f"{url}/llm-ops/v1/nothing")
    assert (missing.status, missing.json()["status"]) == (404, "error")
    wrong = call("GET", f"{url}/llm-ops/v1/serve/chat/chat")
    assert (wrong.status, wrong.json()["message"]) == (
        405,
        "GET is not allowed on /llm-ops/v1/serve/chat/chat",
    )
    unknown = call("POST", f"{url}/llm-ops/v1/serve/other/chat", {"messages": []}, headers=USER)
    assert unknown.status == 404
    assert "no endpoint is served at /llm-ops/v1/serve/other" in unknown.json()["message"]


def test_a_final_slash_reaches_the_same_route(proxy_for: Any) -> None:
    """`GET .../endpoints/` is the listing (a 308 to the path without the '/', query kept); a
    write is not redirected, but its 404 names the path that answers."""
    url = proxy_for(document(endpoint("chat", "http://127.0.0.1:1")))
    plain = call("GET", f"{url}/llm-ops/v1/serving/endpoints", headers=USER)
    slashed = call("GET", f"{url}/llm-ops/v1/serving/endpoints/", headers=USER)
    assert (slashed.status, slashed.json()) == (200, plain.json())
    moved = raw_exchange(url, b"GET /llm-ops/v1/health/?probe=1 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert moved.status == 308
    assert "Location: /llm-ops/v1/health?probe=1" in moved.head
    post = call("POST", f"{url}/llm-ops/v1/serve/chat/chat/", {"messages": []}, headers=USER)
    assert post.status == 404
    assert "without the final '/': /llm-ops/v1/serve/chat/chat" in post.json()["message"]
    unknown = call("GET", f"{url}/llm-ops/v1/nothing/", headers=USER)
    assert unknown.status == 404 and "final" not in unknown.json()["message"]


def test_metrics_are_prometheus_text(proxy_for: Any) -> None:
    with serving(FakeModelServer()) as server:
        url = proxy_for(document(endpoint("chat", server.url)))
        call(
            "POST",
            f"{url}/llm-ops/v1/serve/chat/chat",
            {"messages": [{"role": "user", "content": "hi"}]},
            headers=USER,
        )
        call(
            "POST",
            f"{url}/llm-ops/v1/serve/chat/chat",
            {"messages": [{"role": "user", "content": "hi"}]},
        )
        reply = call("GET", f"{url}/metrics")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/plain")
    text = reply.body.decode()
    assert 'llmops_proxy_requests_total{api="chat",code="200",endpoint="chat"} 1.0' in text
    assert 'llmops_proxy_rejected_requests_total{endpoint="chat",reason="unauthorized"} 1.0' in text
    assert 'llmops_proxy_request_duration_seconds_count{api="chat",endpoint="chat"} 1.0' in text
