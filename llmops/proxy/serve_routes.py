"""Inference through the proxy: the seeds' API and the OpenAI-compatible passthrough.

- `POST /llm-ops/v1/serve/{name}/chat | completion | embeddings`: the seeds' bodies; the answer is the
  envelope with the model server's OpenAI object as `data` (`data.choices[0].message.content`).
- `POST /llm-ops/v1/serve/{name}/v1/chat/completions | completions | embeddings`, `GET .../v1/models`:
  OpenAI's API as is (streams included), for the `openai` client with that base URL.

Each request passes, in order: governance, body checks, the prompt experiment, runtime limits, the
concurrency gate; then the model server gets it with `model` set to its served model name.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from llmops.proxy import envelope
from llmops.proxy.experiments import apply_template, assign_variant
from llmops.proxy.governance import Denied, authorize, identify
from llmops.proxy.limits import LimitExceeded, check_input, check_output
from llmops.proxy.state import STATE, EndpointRuntime, ProxyState
from llmops.proxy.upstream import ClientGone, UpstreamError, excerpt, fetch, open_stream, read_error_body, relay_stream

OPENAI_PATHS = {"chat/completions": "chat", "completions": "completion", "embeddings": "embeddings"}
SEEDS_KINDS = {"chat": "chat", "completion": "completion", "embeddings": "embeddings"}
REQUIRED_FIELD = {"chat": "messages", "completion": "prompt", "embeddings": "input"}
UPSTREAM_PATH = {"chat": "/chat/completions", "completion": "/completions", "embeddings": "/embeddings"}
CLIENT_CLOSED = 499  # nginx's code for a client that went away, used in metrics only
SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class Refused(Exception):
    """A request answered by the proxy itself (4xx), with the metrics label saying why."""

    def __init__(self, status: int, message: str, reason: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.reason, self.headers = status, message, reason, headers


@dataclass(slots=True)
class Outcome:
    status: int = 502
    failed: bool = True
    output_tokens: int | None = None


def _runtime(state: ProxyState, request: web.Request) -> EndpointRuntime:
    runtime = state.by_route.get(request.match_info["name"])
    if runtime is None:
        raise Refused(404, f"no endpoint is served at /llm-ops/v1/serve/{request.match_info['name']} "
                           f"in {state.config.environment}", "not_found")
    return runtime


def _caller_id(state: ProxyState, request: web.Request, runtime: EndpointRuntime) -> str:
    try:
        caller = identify(request.headers, state.config.access.required_role, state.options.token)
        authorize(caller, runtime.endpoint)
    except Denied as denied:
        raise Refused(denied.status, denied.message, "unauthorized" if denied.status == 401 else "forbidden") from None
    return caller.user_id


async def _json_body(request: web.Request, kind: str) -> tuple[dict[str, Any], int]:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise Refused(413, f"the request body is larger than {request.client_max_size} bytes", "invalid") from None
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise Refused(400, f"the request body is not valid JSON ({error})", "invalid") from None
    if not isinstance(body, dict):
        raise Refused(400, "the request body must be a JSON object", "invalid")
    field = REQUIRED_FIELD[kind]
    value = body.get(field)
    if kind == "chat" and not (isinstance(value, list) and value and all(isinstance(m, dict) for m in value)):
        raise Refused(400, "messages must be a non-empty list of {role, content} objects", "invalid")
    if value is None:
        raise Refused(400, f"the request needs `{field}`", "invalid")
    return body, len(raw)


def _prepare(state: ProxyState, runtime: EndpointRuntime, kind: str, body: dict[str, Any], size: int,
             user_id: str) -> str | None:
    """Apply the experiment's template and the limits; return the variant served, if any."""
    variant = None
    run = runtime.experiment
    if run is not None and kind != "embeddings":
        variant = assign_variant(run.experiment, user_id)
        text = run.texts[variant]
        apply_template(kind, body, text)
        size += len(text.encode()) + 32  # the template, and a message around it
    limits = runtime.endpoint.limits
    if limits is not None:
        try:
            check_input(kind, body, limits, size)
            if kind != "embeddings":
                check_output(body, limits)
        except LimitExceeded as exceeded:
            reason = "input_too_long" if "input" in exceeded.message else "output_too_long"
            raise Refused(exceeded.status, exceeded.message, reason) from None
    body["model"] = runtime.endpoint.backend.served_model_name
    return variant


def _upstream_headers(request: web.Request) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    request_id = request.headers.get("X-Request-Id")
    if request_id:
        headers["X-Request-Id"] = request_id
    return headers


async def seeds_call(request: web.Request) -> web.StreamResponse:
    return await _forward(request, SEEDS_KINDS[request.match_info["kind"]], openai=False)


async def openai_call(request: web.Request) -> web.StreamResponse:
    return await _forward(request, OPENAI_PATHS[request.match_info["path"]], openai=True)


async def _forward(request: web.Request, kind: str, openai: bool) -> web.StreamResponse:
    state = request.app[STATE]
    api = f"openai-{kind}" if openai else kind
    name = request.match_info["name"]
    try:
        runtime = _runtime(state, request)
        user_id = _caller_id(state, request, runtime)
        body, size = await _json_body(request, kind)
        stream = body.get("stream") is True
        if stream and not openai:
            raise Refused(400, f"the {kind} API answers in one piece; for a stream, POST to "
                               f"/llm-ops/v1/serve/{name}/v1/{'chat/completions' if kind == 'chat' else 'completions'}",
                          "invalid")
        variant = _prepare(state, runtime, kind, body, size, user_id)
        try:
            runtime.gate.enter()
        except LimitExceeded as busy:
            raise Refused(busy.status, busy.message, "too_many_requests", busy.headers) from None
    except Refused as refused:
        state.metrics.rejected.labels(name, refused.reason).inc()
        state.metrics.requests.labels(name, api, str(refused.status)).inc()
        return envelope.failure(refused.status, refused.message, openai=openai, headers=refused.headers)
    return await _call(request, state, runtime, kind, api, openai, body, stream, variant)


async def _call(request: web.Request, state: ProxyState, runtime: EndpointRuntime, kind: str, api: str,
                openai: bool, body: dict[str, Any], stream: bool, variant: str | None) -> web.StreamResponse:
    metrics, name = state.metrics, runtime.endpoint.name
    headers = {} if variant is None or runtime.experiment is None else {
        "X-LLMOps-Experiment": runtime.experiment.experiment.id, "X-LLMOps-Variant": variant}
    outcome = Outcome()
    started = time.perf_counter()
    metrics.started(name)
    try:
        url = runtime.openai_base + UPSTREAM_PATH[kind]
        if stream:
            return await _stream(request, state, runtime, url, envelope.dumps(body), headers, outcome)
        return await _unary(request, state, runtime, url, envelope.dumps(body), headers, openai, outcome)
    except UpstreamError as fault:
        metrics.upstream_errors.labels(name, fault.kind).inc()
        outcome.status = fault.status
        return envelope.failure(fault.status, fault.message, openai=openai, headers=headers)
    except asyncio.CancelledError:  # the client went away; the upstream request is closed with it
        outcome.status = CLIENT_CLOSED
        raise
    except Exception:
        outcome.status = 500
        raise
    finally:
        elapsed = time.perf_counter() - started
        runtime.gate.leave()
        metrics.finished(name, api, outcome.status, elapsed)
        if variant is not None and runtime.experiment is not None and outcome.status != CLIENT_CLOSED:
            experiment_id = runtime.experiment.experiment.id
            runtime.experiment.stats[variant].record(elapsed, outcome.failed, outcome.output_tokens)
            metrics.variant_requests.labels(experiment_id, variant).inc()
            metrics.variant_latency.labels(experiment_id, variant).observe(elapsed)
            if outcome.failed:
                metrics.variant_errors.labels(experiment_id, variant).inc()


async def _unary(request: web.Request, state: ProxyState, runtime: EndpointRuntime, url: str, payload: bytes,
                 headers: dict[str, str], openai: bool, outcome: Outcome) -> web.StreamResponse:
    answer = await fetch(state.client, "POST", url, payload, _upstream_headers(request), state.options, runtime.who)
    data = _parse_answer(answer.status, answer.body, runtime)
    outcome.status = answer.status if answer.status >= 400 else 200
    if answer.status >= 400:  # the model server refused the request: pass its verdict on
        if openai:
            return web.Response(status=answer.status, body=answer.body, content_type="application/json",
                                headers=headers)
        return envelope.failure(answer.status, f"the model server refused the request (HTTP {answer.status}): "
                                               f"{excerpt(answer.body)}", data=data, headers=headers)
    outcome.failed = False
    usage = data.get("usage") if isinstance(data, dict) else None
    if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
        outcome.output_tokens = usage["completion_tokens"]
    if openai:
        return web.Response(body=answer.body, content_type="application/json", headers=headers)
    return envelope.success(data, headers=headers)


def _parse_answer(status: int, body: bytes, runtime: EndpointRuntime) -> Any:
    if status >= 500:
        raise UpstreamError(502, "status", f"{runtime.who} answered HTTP {status}: {excerpt(body) or '(no body)'}")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise UpstreamError(502, "invalid_json", f"{runtime.who} answered HTTP {status} with a body that is not "
                                                 f"JSON: {excerpt(body) or '(empty)'}") from None


async def _stream(request: web.Request, state: ProxyState, runtime: EndpointRuntime, url: str, payload: bytes,
                  headers: dict[str, str], outcome: Outcome) -> web.StreamResponse:
    upstream = await open_stream(state.client, url, payload, _upstream_headers(request), state.options, runtime.who)
    try:
        if upstream.status != 200 or upstream.content_type != "text/event-stream":
            body = await read_error_body(upstream, state.options, runtime.who)
            return await _unary_from(upstream.status, body, runtime, headers, outcome)
        downstream = web.StreamResponse(headers={**SSE_HEADERS, **headers})
        await downstream.prepare(request)
        outcome.status = 200
        try:
            fault = await relay_stream(upstream, downstream, state.options, runtime.who)
            await downstream.write_eof()
        except ClientGone:
            outcome.status = CLIENT_CLOSED
            return downstream
        if fault is not None:
            state.metrics.upstream_errors.labels(runtime.endpoint.name, fault.kind).inc()
        else:
            outcome.failed = False
        return downstream
    finally:
        upstream.close()  # an unfinished stream's connection is dropped, which cancels the generation


async def _unary_from(status: int, body: bytes, runtime: EndpointRuntime, headers: dict[str, str],
                      outcome: Outcome) -> web.StreamResponse:
    """A stream request the model server answered without a stream: an error, or a plain JSON answer."""
    _parse_answer(status, body, runtime)
    outcome.status = status
    outcome.failed = status >= 400
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


async def models_call(request: web.Request) -> web.StreamResponse:
    """`GET .../v1/models`: the model server's list, as the `openai` client expects it."""
    state = request.app[STATE]
    try:
        runtime = _runtime(state, request)
        _caller_id(state, request, runtime)
        answer = await fetch(state.client, "GET", runtime.openai_base + "/models", None, {}, state.options,
                             runtime.who)
        _parse_answer(answer.status, answer.body, runtime)
    except Refused as refused:
        return envelope.failure(refused.status, refused.message, openai=True, headers=refused.headers)
    except UpstreamError as fault:
        state.metrics.upstream_errors.labels(request.match_info["name"], fault.kind).inc()
        return envelope.failure(fault.status, fault.message, openai=True)
    return web.Response(status=answer.status, body=answer.body, content_type="application/json")
