"""The platform API around inference: health, endpoint listing, the catalog, experiments, Prometheus
metrics.

Open to anyone (probes and scrapers send no user headers): `GET /llm-ops/v1/health`,
`GET /llm-ops/v1/serve/{name}/health` and `GET /metrics`. The rest needs the governance headers.
Everything is read from the configuration the manifests rendered; changes go through git
(llmops/proxy/gitops_advice.py answers the original platform's write routes).
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

from llmops import __version__
from llmops.proxy import envelope
from llmops.proxy.canary import CANARY, STABLE
from llmops.proxy.config import CatalogEntry, ProxyConfig
from llmops.proxy.governance import Denied, identify, shown
from llmops.proxy.metrics import MetricsLost
from llmops.proxy.state import STATE, EndpointRuntime, ProxyState
from llmops.proxy.upstream import probe

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _governed(request: web.Request) -> web.Response | None:
    state = request.app[STATE]
    try:
        identify(
            request.headers,
            state.config.access,
            state.options.token,
            state.config.environment,
            state.options.local_identity,
        )
    except Denied as denied:
        return envelope.failure(denied.status, denied.message)
    return None


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _status(state: ProxyState, runtime: EndpointRuntime) -> tuple[str, str | None]:
    problem = await probe(state.client, runtime.endpoint.backend, state.options, runtime.who)
    return ("healthy", None) if problem is None else ("unhealthy", problem)


async def _with_canary(
    state: ProxyState, runtime: EndpointRuntime
) -> tuple[str, str | None, tuple[str, str | None] | None]:
    """The endpoint's status, and its canary's when it has one (probed at once)."""
    if runtime.canary is None:
        status, problem = await _status(state, runtime)
        return status, problem, None
    (status, problem), canary = await asyncio.gather(
        _status(state, runtime), _status(state, runtime.canary)
    )
    return status, problem, canary


def _split(
    runtime: EndpointRuntime, status: str, canary: tuple[str, str | None] | None
) -> dict[str, Any] | None:
    """The split and each variant's health and statistics (None without a canary)."""
    if runtime.split is None or canary is None:
        return None
    snapshot = runtime.split.snapshot({STABLE: status, CANARY: canary[0]})
    return {**snapshot, "statusMessage": canary[1]}


def _describe(
    state: ProxyState,
    runtime: EndpointRuntime,
    status: str,
    problem: str | None,
    canary: tuple[str, str | None] | None = None,
) -> dict[str, Any]:
    """The original platform's endpoint fields (`id` is the endpoint's name: in git, names are the
    identity; `modelId` as the manifest writes it). `createdAt` is null: the configuration holds
    manifest content only, no dates from git history (`llmops history ENDPOINT --env ENV` shows when
    each version was committed)."""
    endpoint = runtime.endpoint
    limits = endpoint.limits
    return {
        "id": endpoint.name,
        "modelId": endpoint.model_id,
        "environment": endpoint.environment,
        "route": endpoint.route,
        "status": status,
        "minReplicas": endpoint.min_replicas,
        "maxReplicas": endpoint.max_replicas,
        "createdAt": None,
        "statusMessage": problem,
        "model": {"name": endpoint.model.name, "version": endpoint.model.version},
        "serveTarget": endpoint.serve_target,
        "allowedRoles": list(endpoint.allowed_roles),
        "runtime": None
        if limits is None
        else {
            "max_concurrent_requests": limits.max_concurrent_requests,
            "max_input_tokens": limits.max_input_tokens,
            "max_output_tokens": limits.max_output_tokens,
        },
        "experiment": runtime.experiment.experiment.id if runtime.experiment else None,
        "inFlight": runtime.gate.in_flight,
        "adapters": [
            {
                "name": adapter.name,
                "model": {"name": adapter.model.name, "version": adapter.model.version},
            }
            for adapter in endpoint.adapters
        ],
        # the model version beside modelId and the share of users it serves (null: none)
        "canary": _split(runtime, status, canary),
    }


def _model_matches(given: str, runtime: EndpointRuntime) -> bool:
    """`modelId` in either spelling of the served model: `name@version` or the original platform's
    `name-version`."""
    endpoint = runtime.endpoint
    name, version = endpoint.model.name, endpoint.model.version
    return given in (endpoint.model_id, f"{name}@{version}", f"{name}-{version}")


async def health(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return envelope.success(
        {
            "status": "ok",
            "environment": state.config.environment,
            "version": __version__,
            "endpoints": len(state.config.endpoints),
        }
    )


async def list_endpoints(request: web.Request) -> web.Response:
    denied = _governed(request)
    if denied is not None:
        return denied
    state = request.app[STATE]
    query = request.query
    runtimes = [
        r
        for r in state.by_route.values()
        if query.get("environment", r.endpoint.environment) == r.endpoint.environment
        and ("modelId" not in query or _model_matches(query["modelId"], r))
    ]
    statuses = await asyncio.gather(*(_with_canary(state, runtime) for runtime in runtimes))
    listed = [
        _describe(state, runtime, status, problem, canary)
        for runtime, (status, problem, canary) in zip(runtimes, statuses, strict=True)
        if query.get("status", status) == status
    ]
    return envelope.success(listed)


async def get_endpoint(request: web.Request) -> web.Response:
    denied = _governed(request)
    if denied is not None:
        return denied
    state = request.app[STATE]
    wanted = request.match_info["id"]
    runtime = next((r for r in state.by_route.values() if r.endpoint.name == wanted), None)
    if runtime is None:
        names = [runtime.endpoint.name for runtime in state.by_route.values()]
        return envelope.failure(404, _unknown(state.config, "endpoint", wanted, names))
    status, problem, canary = await _with_canary(state, runtime)
    return envelope.success(_describe(state, runtime, status, problem, canary))


async def endpoint_health(request: web.Request) -> web.Response:
    """The original platform's shape, `{status, timestamp, model{name, version}}` (503 while the
    model cannot serve)."""
    state = request.app[STATE]
    runtime = state.by_route.get(request.match_info["name"])
    if runtime is None:
        return envelope.failure(
            404, f"no endpoint is served at /llm-ops/v1/serve/{shown(request.match_info['name'])}"
        )
    status, problem = await _status(state, runtime)
    model = runtime.endpoint.model
    document: dict[str, Any] = {
        "status": status,
        "timestamp": _now(),
        "model": {"name": model.name, "version": model.version},
    }
    if problem is not None:
        document["message"] = problem
    return web.Response(
        status=200 if problem is None else 503,
        body=envelope.dumps(document),
        content_type=envelope.JSON,
    )


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
        wanted = request.match_info["id"]
        return envelope.failure(
            404, _unknown(state.config, "experiment", wanted, state.experiments)
        )
    return envelope.success(run.snapshot())


def _templates(config: ProxyConfig) -> tuple[CatalogEntry, ...]:
    return tuple(
        CatalogEntry.model_validate(
            {
                "id": t.name,
                "name": t.name,
                "version": t.version,
                "template": t.template,
                "variables": t.variables,
            }
        )
        for t in config.templates
    )


# route noun -> (what a config lists, how a message names one)
CATALOG: dict[str, tuple[Callable[[ProxyConfig], tuple[CatalogEntry, ...]], str]] = {
    "catalog/models": (lambda config: config.models, "model"),
    "catalog/datasets": (lambda config: config.datasets, "dataset"),
    "training/jobs": (lambda config: config.training_jobs, "training job"),
    "prompts/templates": (_templates, "prompt template"),
}


def catalog_list(noun: str) -> Handler:
    """`GET /llm-ops/v1/<noun>`: the manifests of that kind in the environment, as written."""
    entries_of, _ = CATALOG[noun]

    async def handler(request: web.Request) -> web.StreamResponse:
        denied = _governed(request)
        if denied is not None:
            return denied
        return envelope.success([entry.document for entry in entries_of(request.app[STATE].config)])

    return handler


SHOWN_IDS = 10  # how many of the ids there are a 404 lists


def _unknown(config: ProxyConfig, label: str, wanted: str, ids: Iterable[str]) -> str:
    """What was asked for is not there: say what is (only on governed routes: the caller may list
    them anyway)."""
    message = f"no {label} {shown(wanted)!r} in {config.environment}"
    there = list(ids)
    if not there:
        return f"{message}, which has none"
    listed = ", ".join(there[:SHOWN_IDS])
    more = f" and {len(there) - SHOWN_IDS} more" if len(there) > SHOWN_IDS else ""
    return f"{message}; its {label}s: {listed}{more}"


def _unknown_id(
    label: str, wanted: str, entries: tuple[CatalogEntry, ...], config: ProxyConfig
) -> str:
    """An unknown catalog id: what there is, and in which forms it may be asked for."""
    message = _unknown(config, label, wanted, (entry.id for entry in entries))
    versioned = next((entry for entry in entries if entry.version is not None), None)
    forms = (
        f" (by id, or as name-version: {versioned.name}-{versioned.version})"
        if versioned is not None
        else ""
    )
    return f"{message}{forms}"


def catalog_item(noun: str) -> Handler:
    """`GET /llm-ops/v1/<noun>/{id}`: one of them, by id (`name@version` and `name-version` both
    work)."""
    entries_of, label = CATALOG[noun]

    async def handler(request: web.Request) -> web.StreamResponse:
        denied = _governed(request)
        if denied is not None:
            return denied
        config = request.app[STATE].config
        wanted = request.match_info["id"]
        entry = next((entry for entry in entries_of(config) if entry.answers_to(wanted)), None)
        if entry is None:
            return envelope.failure(404, _unknown_id(label, wanted, entries_of(config), config))
        return envelope.success(entry.document)

    return handler


async def metrics(request: web.Request) -> web.Response:
    exposition = request.app[STATE].metrics
    try:
        body = exposition.exposition()
    except MetricsLost as lost:
        return envelope.failure(503, str(lost))
    response = web.Response(body=body)
    response.headers["Content-Type"] = exposition.content_type
    return response
