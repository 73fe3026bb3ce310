"""Shared pieces of the proxy tests: configurations, a proxy in a background thread, and the rule
that no path, however faulty, logs a traceback or leaves an asyncio/aiohttp error behind."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from llmops.proxy.config import ProxyConfig, parse_config
from llmops.proxy.options import ProxyOptions
from llmops.proxy.server import running_proxy

USER = {"X-User-Id": "u1", "X-User-Roles": "llm-ops-user"}
TEMPLATES = [
    {
        "name": "terse",
        "version": "1",
        "template": "Be terse about {{ topic }}.",
        "variables": {"topic": "billing"},
    },
    {
        "name": "warm",
        "version": "1",
        "template": "Be warm about {{ topic }}.",
        "variables": {"topic": "billing"},
    },
]


def endpoint(
    name: str,
    backend_url: str,
    *,
    api: str = "kserve-openai",
    limits: dict[str, int] | None = None,
    allowed_roles: list[str] | None = None,
    serve_target: str = "GENERATION",
) -> dict[str, Any]:
    return {
        "name": name,
        "route": f"/llm-ops/v1/serve/{name}",
        "environment": "dev",
        "modelId": "base@1.0",
        "model": {"name": "base", "version": "1.0"},
        "serveTarget": serve_target,
        "backend": {
            "url": backend_url,
            "api": api,
            "openaiPrefix": "/openai/v1" if api == "kserve-openai" else "/v1",
            "servedModelName": f"{name}-served",
        },
        "limits": limits,
        "allowedRoles": allowed_roles or [],
        "minReplicas": 1,
        "maxReplicas": 1,
    }


def document(
    *endpoints: dict[str, Any],
    experiments: list[dict[str, Any]] | None = None,
    token_secret: str | None = None,
) -> dict[str, Any]:
    return {
        "version": 1,
        "environment": "dev",
        "namespace": "llm-ops-dev",
        "access": {"requiredRole": "llm-ops-user", "bearerTokenSecret": token_secret},
        "endpoints": list(endpoints),
        "templates": copy.deepcopy(TEMPLATES),
        "experiments": experiments or [],
    }


def experiment(
    endpoint_name: str, allocation: int = 50, winner: str | None = None
) -> dict[str, Any]:
    return {
        "id": "tone",
        "endpoint": endpoint_name,
        "templateAId": "terse",
        "templateBId": "warm",
        "allocation": allocation,
        "metric": "latency_ms",
        "status": "running" if winner is None else "concluded",
        "winnerTemplateId": winner,
        "notes": None,
    }


def config_of(doc: dict[str, Any]) -> ProxyConfig:
    return parse_config(doc, "test")


@pytest.fixture
def proxy_for() -> Iterator[Any]:
    """`proxy_for(document, **options)` starts a proxy and returns its base URL; all stop after the
    test."""
    stack: list[Any] = []

    def start(doc: dict[str, Any], **options: Any) -> str:
        context = running_proxy(config_of(doc), ProxyOptions(**options))
        stack.append(context)
        return context.__enter__()

    yield start
    for context in reversed(stack):
        context.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    noisy = [
        r
        for r in caplog.records
        if r.exc_info
        or "Traceback" in r.getMessage()
        or (r.name.split(".")[0] in ("asyncio", "aiohttp") and r.levelno >= logging.ERROR)
    ]
    assert noisy == [], [f"{r.name}: {r.getMessage()}" for r in noisy]
