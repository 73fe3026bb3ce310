"""The proxy as an aiohttp application: routes, the error envelope for everything else, the client
pool.

Why aiohttp: one package gives both the server and the client, streams in both directions with
backpressure (a slow reader slows the relay instead of filling memory), and cancels a handler when
its client disconnects. In a prototype comparison on the 2-core development machine (a minimal relay
in each, the same minimal backend and load generator, 3,000 requests), aiohttp with uvloop added
0.5 ms at p50 with one client and relayed about 4,100 requests/s with 32; Starlette on uvicorn
(httptools, uvloop) with httpx added 1.0 ms with one client and, with 32, fell to about 420
requests/s with p99 over 250 ms (httpx's connection pool under contention).
The calls to model servers later left aiohttp's client for a lean one of the proxy's own
(llmops/proxy/upstream_pool.py), which cut the CPU per relayed request by about 40%; and plain
inference requests (a POST with a Content-Length to an inference route) left aiohttp's server for
a lean HTTP/1.1 server of the proxy's own in front of it (llmops/proxy/front.py), on the same port
and connections: aiohttp's server machinery alone cost about 0.09 ms of CPU per request, twice
nginx's whole relay. Everything else (the platform routes, the catalog, /metrics, the console,
404/405 with GitOps advice, slash redirects, chunked or encoded bodies, `Expect`, every request the
HTTP parser refuses) stays here, and so do the inference routes for requests the lean server leaves
to aiohttp: both serve them through the same route code (llmops/proxy/serve_routes.py).
`benchmarks/bench_proxy.py` measures this proxy.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from llmops.proxy import delivery, envelope, gitops_advice, platform_routes, serve_routes
from llmops.proxy.config import ProxyConfig
from llmops.proxy.governance import shown
from llmops.proxy.options import ProxyOptions
from llmops.proxy.state import STATE, ProxyState
from llmops.proxy.upstream_pool import UpstreamPool

if TYPE_CHECKING:
    from llmops.console.pages import Console

log = logging.getLogger("llmops.proxy")
# Pooled model-server connections are dropped after this long idle: below uvicorn's 5 s keep-alive
# (KServe's and vLLM's servers), so the proxy never sends a request on a connection the server is
# closing.
KEEPALIVE_SECONDS = 4.0
SERVE = "/llm-ops/v1/serve/{name}"
API = "/llm-ops/v1"
# answers carry OpenAI's `error` object
OPENAI_PATH = re.compile(r"/llm-ops/v1/serve/[^/]+/v1(/.*)?")


@web.middleware
async def _envelope_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Unknown routes, wrong methods and internal errors answer in the envelope too (with OpenAI's
    `error` object under the OpenAI routes), the original platform's write routes with the GitOps
    way to do the same; a bug is one log line (the traceback only with LLMOPS_DEBUG set), never a
    traceback to the caller. Every answer is written with bounded waits (llmops/proxy/delivery.py).
    Also tells the connection guard when the connection is busy."""
    state = request.app[STATE]
    openai = OPENAI_PATH.fullmatch(request.path) is not None
    state.connections.request_started(request.protocol)
    try:
        return await delivery.deliver(request, await handler(request), state.options.write_timeout)
    except delivery.ClientStalled:
        state.metrics.connection_closed("write_timeout")
        return web.Response()  # its connection is gone: aiohttp sends nothing more
    except delivery.ClientGone:
        return web.Response()
    except web.HTTPException as http:
        if http.status < 400:
            raise
        advice = (
            gitops_advice.advise(request.method, request.path, state.config)
            if http.status in (404, 405)
            else None
        )
        if advice is not None:
            return envelope.failure(405, advice.message, headers={"Allow": advice.allow})
        slashless = await _route_without_final_slash(request) if http.status == 404 else None
        if slashless is not None and request.method in ("GET", "HEAD"):
            raise web.HTTPPermanentRedirect(slashless) from None
        hint = f" (without the final '/': {shown(slashless)})" if slashless else ""
        messages = {
            404: f"no such route: {request.method} {shown(request.path)}{hint}",
            405: f"{request.method} is not allowed on {shown(request.path)}",
        }
        return envelope.failure(
            http.status,
            messages.get(http.status, http.reason),
            openai=openai,
            headers={"Allow": http.headers["Allow"]} if "Allow" in http.headers else None,
        )
    except Exception as error:
        log.error(
            "internal error serving %s %s: %s: %s",
            request.method,
            shown(request.path),
            type(error).__name__,
            shown(str(error)),
            exc_info=bool(os.environ.get("LLMOPS_DEBUG")),
        )
        return envelope.failure(
            500, "internal error in the llmops proxy (see its log)", openai=openai
        )
    finally:
        state.connections.request_finished(request.protocol)


async def _route_without_final_slash(request: web.Request) -> str | None:
    """`/llm-ops/v1/catalog/models/` names the same thing as `.../models`: the path (and query)
    without the final '/' when a route answers it, else None."""
    path = request.rel_url.path
    if len(path) < 2 or not path.endswith("/"):
        return None
    target = request.rel_url.with_path(path.rstrip("/")).with_query(request.rel_url.query)
    match = await request.app.router.resolve(request.clone(rel_url=target))
    if match.http_exception is not None:
        return None
    return str(target)


async def _client_pool(app: web.Application) -> AsyncIterator[None]:
    """One connection to a model server per client connection at most (the same cap), so both fit
    under the open-file limit."""
    state = app[STATE]
    state.pool = UpstreamPool(state.connections.cap, KEEPALIVE_SECONDS)
    yield
    await state.pool.close()


def build_app(
    config: ProxyConfig, options: ProxyOptions | None = None, console: Console | None = None
) -> web.Application:
    """The proxy for one environment.

    **Parameters:** ``config`` from ``config_source``; ``options`` timeouts, bounds and the shared
    token (default: ``ProxyOptions.from_environment()``); ``console`` the web console to serve at
    ``/console/`` (llmops/console/), or None for none.
    **Returns:** an application to serve with ``llmops.proxy.server`` (or any aiohttp runner; run
    it with ``handler_cancellation=True`` so a client going away cancels its upstream request).
    """
    options = options if options is not None else ProxyOptions.from_environment()
    app = web.Application(middlewares=[_envelope_errors], client_max_size=options.max_request_bytes)
    app[STATE] = ProxyState.build(config, options)
    app.cleanup_ctx.append(_client_pool)
    app.router.add_get("/llm-ops/v1/health", platform_routes.health)
    app.router.add_get("/llm-ops/v1/serving/endpoints", platform_routes.list_endpoints)
    app.router.add_get("/llm-ops/v1/serving/endpoints/{id}", platform_routes.get_endpoint)
    app.router.add_get("/llm-ops/v1/prompts/experiments", platform_routes.list_experiments)
    app.router.add_get("/llm-ops/v1/prompts/experiments/{id}", platform_routes.get_experiment)
    for noun in platform_routes.CATALOG:
        app.router.add_get(f"{API}/{noun}", platform_routes.catalog_list(noun))
        app.router.add_get(f"{API}/{noun}/{{id}}", platform_routes.catalog_item(noun))
    app.router.add_get(SERVE + "/health", platform_routes.endpoint_health)
    app.router.add_post(SERVE + "/{kind:chat|completion|embeddings}", serve_routes.platform_call)
    app.router.add_post(
        SERVE + "/v1/{path:chat/completions|completions|embeddings}", serve_routes.openai_call
    )
    app.router.add_get(SERVE + "/v1/models", serve_routes.models_call)
    app.router.add_get("/metrics", platform_routes.metrics)
    if console is not None:
        from llmops.console.pages import add_routes

        add_routes(app, console)
    return app
