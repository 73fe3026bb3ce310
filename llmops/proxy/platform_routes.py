"""The platform API around inference: health, endpoint listing, experiments, Prometheus metrics.

Open to anyone (probes and scrapers send no user headers): `GET /llm-ops/v1/health`,
`GET /llm-ops/v1/serve/{name}/health` and `GET /metrics`. The rest needs the governance headers.
"""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

from aiohttp import web

from llmops import __version__
from llmops.proxy import envelope
from llmops.proxy.governance import Denied, identify
from llmops.proxy.state import STATE, EndpointRuntime, ProxyState
from llmops.proxy.upstream import probe


def _governed(request: web.Request) -> web.Response | None:
    state = request.app[STATE]
    try:
        identify(request.headers, state.config.access.required_role, state.options.token)
    except Denied as denied:
        return envelope.failure(denied.status, denied.message)
    return None


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _status(state: ProxyState, runtime: EndpointRuntime) -> tuple[str, str | None]:
    problem = await probe(state.client, runtime.endpoint.backend, state.options, runtime.who)
    return ("healthy", None) if problem is None else ("unhealthy", problem)


def _describe(state: ProxyState, runtime: EndpointRuntime, status: str, problem: str | None) -> dict[str, Any]:
    """The seeds' endpoint fields (`id` is the endpoint's name: in git, names are the identity)."""
    endpoint = runtime.endpoint
    limits = endpoint.limits
    return {
        "id": endpoint.name, "modelId": endpoint.model_id, "environment": endpoint.environment,
        "route": endpoint.route, "status": status, "minReplicas": endpoint.min_replicas,
        "maxReplicas": endpoint.max_replicas, "statusMessage": problem,
        "model": {"name": endpoint.model.name, "version": endpoint.model.version},
        "serveTarget": endpoint.serve_target, "allowedRoles": list(endpoint.allowed_roles),
        "runtime": None if limits is None else {"max_concurrent_requests": limits.max_concurrent_requests,
                                                "max_input_tokens": limits.max_input_tokens,
                                                "max_output_tokens": limits.max_output_tokens},
        "experiment": runtime.experiment.experiment.id if runtime.experiment else None,
        "inFlight": runtime.gate.in_flight,
    }


def _model_matches(given: str, model_id: str) -> bool:
    """`modelId` as written in the manifests (`name@version`) or in the seeds' form (`name-version`)."""
    name, _, version = model_id.partition("@")
    return given in (model_id, f"{name}-{version}")


async def health(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return envelope.success({"status": "ok", "environment": state.config.environment, "version": __version__,
                             "endpoints": len(state.config.endpoints)})


async def list_endpoints(request: web.Request) -> web.Response:
    denied = _governed(request)
    if denied is not None:
        return denied
    state = request.app[STATE]
    query = request.query
    runtimes = [r for r in state.by_route.values()
                if query.get("environment", r.endpoint.environment) == r.endpoint.environment
                and ("modelId" not in query or _model_matches(query["modelId"], r.endpoint.model_id))]
    statuses = await asyncio.gather(*(_status(state, runtime) for runtime in runtimes))
    listed = [_describe(state, runtime, status, problem)
              for runtime, (status, problem) in zip(runtimes, statuses, strict=True)
              if query.get("status", status) == status]
    return envelope.success(listed)


async def get_endpoint(request: web.Request) -> web.Response:
    denied = _governed(request)
    if denied is not None:
        return denied
    state = request.app[STATE]
    wanted = request.match_info["id"]
    runtime = next((r for r in state.by_route.values() if r.endpoint.name == wanted), None)
    if runtime is None:
        return envelope.failure(404, f"no endpoint {wanted!r} in {state.config.environment}")
    status, problem = await _status(state, runtime)
    return envelope.success(_describe(state, runtime, status, problem))


async def endpoint_health(request: web.Request) -> web.Response:
    """The seeds' shape, `{status, timestamp, model{name, version}}` (503 while the model cannot serve)."""
    state = request.app[STATE]
    runtime = state.by_route.get(request.match_info["name"])
    if runtime is None:
        return envelope.failure(404, f"no endpoint is served at /llm-ops/v1/serve/{request.match_info['name']}")
    status, problem = await _status(state, runtime)
    model = runtime.endpoint.model
    document: dict[str, Any] = {"status": status, "timestamp": _now(),
                                "model": {"name": model.name, "version": model.version}}
    if problem is not None:
        document["message"] = problem
    return web.Response(status=200 if problem is None else 503, body=envelope.dumps(document),
                        content_type=envelope.JSON)


async def list_experiments(request: web.Request) -> web.Response:
    denied = _governed(request)
    if denied is not None:
        return denied
    return envelope.success([run.snapshot() for run in request.app[STATE].experiments.values()])


async def get_experiment(request: web.Request) -> web.Response:
    denied = _governed(request)
    if denied is not None:
        return denied
    state = request.app[STATE]
    run = state.experiments.get(request.match_info["id"])
    if run is None:
        return envelope.failure(404, f"no experiment {request.match_info['id']!r} in {state.config.environment}")
    return envelope.success(run.snapshot())


async def metrics(request: web.Request) -> web.Response:
    exposition = request.app[STATE].metrics
    response = web.Response(body=exposition.exposition())
    response.headers["Content-Type"] = exposition.content_type
    return response
