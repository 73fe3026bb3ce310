"""A canary splits an endpoint's users between two model servers by its weight, sticky per user,
with per-variant statistics in the listing and in /metrics.

Real HTTP on 127.0.0.1: two model servers that answer differently (each names its version), the
proxy in front of them, 2,000 users.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import openai
import pytest
from aiohttp import web

from llmops.proxy.canary import CANARY, STABLE, canary_bucket
from llmops.proxy.config import parse_config
from tests.helpers.estate import PROJECT_ROOT
from tests.helpers.loopback import FakeModelServer, call, serving
from tests.proxy.conftest import document, endpoint

USERS = 2000
ROLES = "llm-ops-user"
CHAT = "/llm-ops/v1/serve/chat/v1/chat/completions"


@dataclass
class VersionedServer(FakeModelServer):
    """A model server that says which version it is in every answer."""

    version: str = ""

    async def _answer(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        return web.json_response(
            {
                "id": "c1",
                "object": "chat.completion",
                "created": 1,
                "model": body.get("model", ""),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": f"I am {self.version}"},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6},
            }
        )


def with_canary(stable_url: str, canary_url: str, weight: int) -> dict[str, Any]:
    chat = endpoint("chat", stable_url)
    chat["canary"] = {
        "weight": weight,
        "modelId": "base@1.1",
        "model": {"name": "base", "version": "1.1"},
        "backend": {
            "url": canary_url,
            "api": "kserve-openai",
            "openaiPrefix": "/openai/v1",
            "servedModelName": "chat-served",
        },
        "limits": None,
        "minReplicas": 1,
        "maxReplicas": 1,
    }
    return document(chat)


@pytest.fixture
def servers() -> Iterator[tuple[VersionedServer, VersionedServer]]:
    with (
        serving(VersionedServer(version="1.0")) as stable,
        serving(VersionedServer(version="1.1")) as canary,
    ):
        yield stable, canary


def ask(url: str, user: str, body_user: str | None = None) -> tuple[str, str]:
    """(the answer's text, the X-LLMOps-Canary header) for one user's chat request."""
    body: dict[str, Any] = {"messages": [{"role": "user", "content": "hi"}]}
    if body_user is not None:
        body["user"] = body_user
    reply = call("POST", url + CHAT, body, headers={"X-User-Id": user, "X-User-Roles": ROLES})
    assert reply.status == 200, reply.body
    return reply.json()["choices"][0]["message"]["content"], reply.headers["X-LLMOps-Canary"]


@pytest.mark.parametrize("weight", [10, 50])
def test_the_split_over_2000_users_is_the_weight_within_4_sigma_and_sticky(
    servers: tuple[VersionedServer, VersionedServer], proxy_for: Any, weight: int
) -> None:
    stable, canary = servers
    url = proxy_for(with_canary(stable.url, canary.url, weight))
    answers = {f"user-{n}": ask(url, f"user-{n}") for n in range(USERS)}
    on_canary = sum(text == "I am 1.1" for text, _ in answers.values())
    # each user is a Bernoulli trial with p = weight / 100: 4 standard deviations of the binomial
    expected = USERS * weight / 100
    bound = 4 * math.sqrt(USERS * (weight / 100) * (1 - weight / 100))
    assert abs(on_canary - expected) <= bound, (on_canary, expected, bound)
    # the two model servers really got the requests, and the header names who answered
    assert (len(canary.requests), len(stable.requests)) == (on_canary, USERS - on_canary)
    assert all((text == "I am 1.1") == (variant == CANARY) for text, variant in answers.values())
    # sticky: the same users again, in another order, get the same version
    for n in reversed(range(0, USERS, 10)):
        assert ask(url, f"user-{n}") == answers[f"user-{n}"]
    # and the listing counts each variant's requests
    listing = call(
        "GET",
        url + "/llm-ops/v1/serving/endpoints/chat",
        headers={"X-User-Id": "ops", "X-User-Roles": ROLES},
    ).json()["data"]
    split = listing["canary"]
    assert (split["modelId"], split["weight"]) == ("base@1.1", weight)
    variants = split["variants"]
    assert variants[CANARY]["requests"] == on_canary + sum(
        1 for n in range(0, USERS, 10) if answers[f"user-{n}"][1] == CANARY
    )
    assert variants[STABLE]["weight"] == 100 - weight
    assert (variants[STABLE]["model"], variants[CANARY]["model"]) == ("base@1.0", "base@1.1")
    assert (variants[STABLE]["status"], variants[CANARY]["status"]) == ("healthy", "healthy")
    assert variants[CANARY]["errors"] == 0 and variants[CANARY]["latencyMs"]["p95"] > 0


def test_raising_the_weight_keeps_every_canary_user_on_the_canary() -> None:
    users = [f"user-{n}" for n in range(USERS)]
    at_10 = {u for u in users if canary_bucket("chat", "base@1.1", u) < 10}
    at_50 = {u for u in users if canary_bucket("chat", "base@1.1", u) < 50}
    assert at_10 < at_50
    # another canary version draws its users afresh
    assert at_10 != {u for u in users if canary_bucket("chat", "base@1.2", u) < 10}


def test_every_proxy_replica_buckets_a_user_alike() -> None:
    users = [f"user-{n}" for n in range(200)]
    program = (
        "import json, sys; from llmops.proxy.canary import canary_bucket; "
        "print(json.dumps([canary_bucket('chat', 'base@1.1', u) for u in json.loads(sys.argv[1])]))"
    )
    other = subprocess.run(
        [sys.executable, "-c", program, json.dumps(users)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    )
    assert json.loads(other.stdout) == [canary_bucket("chat", "base@1.1", u) for u in users]


def test_the_openai_user_field_decides_the_variant_over_the_caller(
    servers: tuple[VersionedServer, VersionedServer], proxy_for: Any
) -> None:
    """A service calling for its users (one X-User-Id) keeps each of its users on one version."""
    stable, canary = servers
    url = proxy_for(with_canary(stable.url, canary.url, 50))
    client = openai.OpenAI(
        base_url=f"{url}/llm-ops/v1/serve/chat/v1",
        api_key="x",
        default_headers={"X-User-Id": "support-bot", "X-User-Roles": ROLES},
    )
    seen: dict[str, set[str]] = {}
    for round_ in range(3):
        for n in range(40):
            answer = client.chat.completions.create(
                model="chat", messages=[{"role": "user", "content": "hi"}], user=f"end-user-{n}"
            )
            seen.setdefault(f"end-user-{n}", set()).add(answer.choices[0].message.content or "")
        assert round_ >= 0
    assert all(len(versions) == 1 for versions in seen.values())
    assert {next(iter(v)) for v in seen.values()} == {"I am 1.0", "I am 1.1"}


def test_per_variant_metrics_and_errors(proxy_for: Any) -> None:
    with (
        serving(VersionedServer(version="1.0")) as stable,
        serving(FakeModelServer(mode="error500")) as broken,
    ):
        url = proxy_for(with_canary(stable.url, broken.url, 50))
        statuses = [
            call(
                "POST",
                url + CHAT,
                {"messages": [{"role": "user", "content": "hi"}]},
                headers={"X-User-Id": f"user-{n}", "X-User-Roles": ROLES},
            ).status
            for n in range(100)
        ]
        failed = statuses.count(502)
        assert 0 < failed < 100 and statuses.count(200) == 100 - failed
        exposition = call("GET", url + "/metrics").body.decode()
        assert (
            f'llmops_proxy_canary_errors_total{{endpoint="chat",variant="canary"}} {failed}.0'
            in (exposition)
        )
        assert (
            f'llmops_proxy_canary_requests_total{{endpoint="chat",variant="stable"}} '
            f"{100 - failed}.0"
        ) in exposition
        assert 'llmops_proxy_canary_errors_total{endpoint="chat",variant="stable"}' not in (
            exposition
        )
        listing = call(
            "GET",
            url + "/llm-ops/v1/serving/endpoints",
            headers={"X-User-Id": "ops", "X-User-Roles": ROLES},
        ).json()["data"][0]["canary"]["variants"]
        assert (listing[CANARY]["errors"], listing[CANARY]["errorRate"]) == (failed, 1.0)


def test_the_rendered_example_configures_the_split() -> None:
    """What `llmops render` writes for examples/canary is what the proxy reads."""
    golden = PROJECT_ROOT / "tests/golden/canary/prod/v1_configmap_llmops-proxy-config.yaml"
    import yaml

    config = parse_config(
        json.loads(yaml.safe_load(golden.read_text(encoding="utf-8"))["data"]["proxy.json"]),
        "golden",
    )
    (only,) = config.endpoints
    assert only.canary is not None
    assert (only.canary.weight, only.canary.model_id) == (10, "example-base-model@1.1")
    assert only.canary.backend.url == (
        "http://example-model-canary-predictor.llm-ops-prod.svc.cluster.local"
    )
    assert only.canary.backend.served_model_name == only.backend.served_model_name


def test_llmops_proxy_serves_the_example_with_local_backends_for_both_variants(
    servers: tuple[VersionedServer, VersionedServer],
) -> None:
    """`--backend example-model-canary=URL` sends the canary to a local model server."""
    from tests.cli.test_proxy_command import proxy_process

    stable, canary = servers
    with proxy_process(
        str(PROJECT_ROOT / "examples" / "canary"),
        "--env",
        "prod",
        "--backend",
        f"example-model={stable.url}",
        "--backend",
        f"example-model-canary={canary.url}",
    ) as (url, _):
        path = "/llm-ops/v1/serve/example-model/chat"
        texts = [
            call(
                "POST",
                url + path,
                {"messages": [{"role": "user", "content": "hi"}]},
                headers={"X-User-Id": f"user-{n}", "X-User-Roles": ROLES},
            ).json()["data"]["choices"][0]["message"]["content"]
            for n in range(200)
        ]
    # 10% of 200 users: 20 expected, 4 sigma of the binomial is 17
    assert abs(texts.count("I am 1.1") - 20) <= 17 and texts.count("I am 1.1") > 0
    assert texts.count("I am 1.0") == 200 - texts.count("I am 1.1")
