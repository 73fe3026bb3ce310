"""Inference through the proxy against a real loopback model server: the original platform's API,
the OpenAI passthrough, the served model name, runtime limits and prompt experiments."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from tests.helpers.loopback import FakeModelServer, call, serving
from tests.proxy.conftest import USER, document, endpoint, experiment

LIMITS = {"maxConcurrentRequests": 2, "maxInputTokens": 50, "maxOutputTokens": 100}
PLATFORM_CHAT = {
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Hello! Can you help me?"},
    ],
    "temperature": 0.7,
    "max_tokens": 50,
}


def test_original_platform_chat_answers_in_the_envelope(proxy_for: Any) -> None:
    with serving(FakeModelServer()) as server:
        url = proxy_for(document(endpoint("chat-model", server.url)))
        reply = call("POST", f"{url}/llm-ops/v1/serve/chat-model/chat", PLATFORM_CHAT, headers=USER)
    assert reply.status == 200
    answer = reply.json()
    assert (answer["status"], answer["message"]) == ("success", "")
    assert (
        answer["data"]["choices"][0]["message"]["content"]
        == "system='You are a helpful assistant.' user='Hello! Can you help me?'"
    )
    (sent,) = server.requests
    assert sent["model"] == "chat-model-served"  # the name the model server answers to
    assert (sent["temperature"], sent["max_tokens"]) == (0.7, 50)


def test_original_platform_completion_and_embeddings_on_vllm_routes(proxy_for: Any) -> None:
    with serving(FakeModelServer()) as server:
        url = proxy_for(
            document(
                endpoint("text", server.url, api="vllm-openai"),
                endpoint(
                    "embedding-model", server.url, api="vllm-openai", serve_target="EMBEDDING"
                ),
            )
        )
        completion = call(
            "POST",
            f"{url}/llm-ops/v1/serve/text/completion",
            {"prompt": "LLM Ops 플랫폼은", "temperature": 0.7, "max_tokens": 20, "stop": ["\n\n"]},
            headers=USER,
        )
        embedding = call(
            "POST",
            f"{url}/llm-ops/v1/serve/embedding-model/embeddings",
            {"input": "This is a text to embed", "model": "embedding-model-v1"},
            headers=USER,
        )
    assert completion.status == 200
    assert "LLM Ops 플랫폼은" in completion.json()["data"]["choices"][0]["message"]["content"]
    assert server.requests[0]["stop"] == ["\n\n"]
    assert embedding.json()["data"]["data"][0]["embedding"] == [0.1, 0.2]
    assert server.requests[1]["model"] == "embedding-model-served"


def test_original_platform_api_refuses_streams_with_a_pointer(proxy_for: Any) -> None:
    url = proxy_for(document(endpoint("chat", "http://127.0.0.1:1")))
    reply = call(
        "POST", f"{url}/llm-ops/v1/serve/chat/chat", {**PLATFORM_CHAT, "stream": True}, headers=USER
    )
    assert reply.status == 400
    assert "/llm-ops/v1/serve/chat/v1/chat/completions" in reply.json()["message"]


def test_passthrough_relays_openai_json(proxy_for: Any) -> None:
    with serving(FakeModelServer()) as server:
        url = proxy_for(document(endpoint("chat", server.url)))
        base = f"{url}/llm-ops/v1/serve/chat/v1"
        reply = call(
            "POST", f"{base}/chat/completions", {"model": "anything", **PLATFORM_CHAT}, headers=USER
        )
        models = call("GET", f"{base}/models", headers=USER)
    assert reply.json()["object"] == "chat.completion"  # no envelope: OpenAI's own shape
    assert models.json()["data"][0]["id"] == "served"
    assert server.requests[0]["model"] == "chat-served"


def test_passthrough_stream_is_relayed(proxy_for: Any) -> None:
    with serving(FakeModelServer()) as server:
        url = proxy_for(document(endpoint("chat", server.url)))
        reply = call(
            "POST",
            f"{url}/llm-ops/v1/serve/chat/v1/chat/completions",
            {**PLATFORM_CHAT, "stream": True},
            headers=USER,
        )
    assert reply.headers["Content-Type"] == "text/event-stream"
    events = [line for line in reply.body.decode().split("\n\n") if line]
    assert len(events) == 4
    assert events[-1] == "data: [DONE]"
    assert json.loads(events[0][len("data: ") :])["choices"][0]["delta"]["content"] == "w0 "


def test_input_above_max_input_tokens_is_refused(proxy_for: Any) -> None:
    with serving(FakeModelServer()) as server:
        url = proxy_for(document(endpoint("chat", server.url, limits=LIMITS)))
        # 200 words of 2 tokens, the role "user" 2, 4 per message
        long = {"messages": [{"role": "user", "content": "word " * 200}]}
        reply = call("POST", f"{url}/llm-ops/v1/serve/chat/chat", long, headers=USER)
        assert reply.status == 400
        assert reply.json()["message"] == (
            "the input is about 406 tokens (estimated), more than this endpoint's "
            "max_input_tokens of 50"
        )
        prompt = call(
            "POST",
            f"{url}/llm-ops/v1/serve/chat/v1/completions",
            {"prompt": "x" * 300},
            headers=USER,
        )
        assert prompt.status == 400
        assert prompt.json()["error"]["type"] == "invalid_request_error"
        short = call(
            "POST",
            f"{url}/llm-ops/v1/serve/chat/chat",
            {"messages": [{"role": "user", "content": "hi"}]},
            headers=USER,
        )
        assert short.status == 200
    assert len(server.requests) == 1


def test_max_tokens_above_the_limit_is_refused_and_absent_means_the_limit(proxy_for: Any) -> None:
    with serving(FakeModelServer()) as server:
        url = proxy_for(document(endpoint("chat", server.url, limits=LIMITS)))
        chat = f"{url}/llm-ops/v1/serve/chat/chat"
        over = call("POST", chat, {**PLATFORM_CHAT, "max_tokens": 500}, headers=USER)
        assert over.status == 400
        assert over.json()["message"] == (
            "max_tokens 500 is more than this endpoint's max_output_tokens of 100; "
            "ask for at most 100"
        )
        newer = call(
            "POST",
            chat,
            {**PLATFORM_CHAT, "max_tokens": None, "max_completion_tokens": 101},
            headers=USER,
        )
        assert newer.status == 400
        assert (
            call("POST", chat, {**PLATFORM_CHAT, "max_tokens": "many"}, headers=USER).status == 400
        )
        assert (
            call("POST", chat, {"messages": PLATFORM_CHAT["messages"]}, headers=USER).status == 200
        )
    assert server.requests[0]["max_tokens"] == 100


def test_concurrency_limit_answers_429_with_retry_after(proxy_for: Any) -> None:
    server = FakeModelServer(mode="slow", delay=0.5)
    with serving(server):
        url = proxy_for(document(endpoint("chat", server.url, limits=LIMITS)))

        async def three_at_once() -> list[tuple[int, str | None, Any]]:
            async with aiohttp.ClientSession() as session:

                async def one() -> tuple[int, str | None, Any]:
                    async with session.post(
                        f"{url}/llm-ops/v1/serve/chat/chat", json=PLATFORM_CHAT, headers=USER
                    ) as response:
                        return (
                            response.status,
                            response.headers.get("Retry-After"),
                            await response.json(),
                        )

                first = [asyncio.create_task(one()) for _ in range(2)]
                await asyncio.sleep(0.2)  # both are in flight at the model server
                third = await one()
                return [*(await asyncio.gather(*first)), third]

        results = asyncio.run(three_at_once())
    assert [status for status, _, _ in results] == [200, 200, 429]
    _, retry_after, body = results[2]
    assert retry_after == "1"
    assert "2 requests in flight" in body["message"]


def test_bad_request_bodies(proxy_for: Any) -> None:
    url = proxy_for(document(endpoint("chat", "http://127.0.0.1:1")), max_request_bytes=1000)
    chat = f"{url}/llm-ops/v1/serve/chat/chat"
    cases = [
        (b"{not json", 400, "the request body is not valid JSON"),
        (b"[1, 2]", 400, "the request body must be a JSON object"),
        (b'{"messages": []}', 400, "`messages` must be a non-empty list"),
        (b'{"messages": ["hi"]}', 400, "`messages[0]` must be a {role, content} object"),
        (
            b'{"messages": [{"role": "user", "content": "' + b"x" * 2000 + b'"}]}',
            413,
            "the request body is larger than 1000 bytes",
        ),
    ]
    for body, status, message in cases:
        reply = call("POST", chat, body, headers=USER)
        assert (reply.status, reply.json()["message"][: len(message)]) == (status, message)
    reply = call(
        "POST", f"{url}/llm-ops/v1/serve/chat/completion", {"temperature": 1}, headers=USER
    )
    assert (reply.status, reply.json()["message"]) == (400, "the request needs `prompt`")


def test_experiment_applies_sticky_templates_and_counts_per_variant(proxy_for: Any) -> None:
    server = FakeModelServer()
    with serving(server):
        url = proxy_for(
            document(endpoint("chat", server.url), experiments=[experiment("chat", allocation=50)])
        )
        seen: dict[str, set[str]] = {}
        for round_ in range(3):
            for n in range(10):
                user = {"X-User-Id": f"user-{n}", "X-User-Roles": "llm-ops-user"}
                reply = call(
                    "POST", f"{url}/llm-ops/v1/serve/chat/chat", PLATFORM_CHAT, headers=user
                )
                assert reply.status == 200, round_
                seen.setdefault(f"user-{n}", set()).add(reply.headers["X-LLMOps-Variant"])
        assert all(len(variants) == 1 for variants in seen.values())  # sticky
        systems = {request["messages"][0]["content"] for request in server.requests}
        assert systems == {
            "Be terse about billing.\n\nYou are a helpful assistant.",
            "Be warm about billing.\n\nYou are a helpful assistant.",
        }
        server.mode = "error500"
        failed = call("POST", f"{url}/llm-ops/v1/serve/chat/chat", PLATFORM_CHAT, headers=USER)
        assert failed.status == 502
        stats = call("GET", f"{url}/llm-ops/v1/prompts/experiments/tone", headers=USER).json()[
            "data"
        ]
        metrics = call("GET", f"{url}/metrics").body.decode()
    variants = stats["variants"]
    a_users = sum(1 for v in seen.values() if v == {"A"})
    failed_variant = failed.headers["X-LLMOps-Variant"]
    assert variants["A"]["requests"] == 3 * a_users + (failed_variant == "A")
    assert variants["B"]["requests"] == 3 * (10 - a_users) + (failed_variant == "B")
    assert variants[failed_variant]["errors"] == 1
    assert variants["A"]["outputTokens"] == 7 * 3 * a_users
    assert variants["A"]["latencyMs"]["p50"] > 0
    assert (
        'llmops_proxy_experiment_requests_total{experiment="tone",variant="A"} '
        f"{variants['A']['requests']}.0" in metrics
    )
    assert (
        f'llmops_proxy_experiment_errors_total{{experiment="tone",variant="{failed_variant}"}} 1.0'
        in metrics
    )


def test_concluded_experiment_changes_nothing(proxy_for: Any) -> None:
    with serving(FakeModelServer()) as server:
        url = proxy_for(
            document(endpoint("chat", server.url), experiments=[experiment("chat", winner="terse")])
        )
        reply = call("POST", f"{url}/llm-ops/v1/serve/chat/chat", PLATFORM_CHAT, headers=USER)
    assert "X-LLMOps-Variant" not in reply.headers
    assert server.requests[0]["messages"] == PLATFORM_CHAT["messages"]


def test_embeddings_get_no_template(proxy_for: Any) -> None:
    with serving(FakeModelServer()) as server:
        url = proxy_for(
            document(
                endpoint("chat", server.url, serve_target="EMBEDDING"),
                experiments=[experiment("chat")],
            )
        )
        call("POST", f"{url}/llm-ops/v1/serve/chat/embeddings", {"input": "text"}, headers=USER)
    assert server.requests[0]["input"] == "text"


def test_request_id_is_forwarded(proxy_for: Any) -> None:
    with serving(FakeModelServer()) as server:
        url = proxy_for(document(endpoint("chat", server.url)))
        call(
            "POST",
            f"{url}/llm-ops/v1/serve/chat/chat",
            PLATFORM_CHAT,
            headers={**USER, "X-Request-Id": "req-7"},
        )
    assert server.headers[0]["X-Request-Id"] == "req-7"
    assert "X-User-Id" not in server.headers[0]
