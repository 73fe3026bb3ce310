"""Inference through the proxy: the original platform's API and the OpenAI-compatible passthrough.

- `POST /llm-ops/v1/serve/{name}/chat | completion | embeddings`: the original platform's bodies;
  the answer is the envelope with the model server's OpenAI object as `data`
  (`data.choices[0].message.content`).
- `POST /llm-ops/v1/serve/{name}/v1/chat/completions | completions | embeddings`, `GET
  .../v1/models`: OpenAI's API as is (streams included), for the `openai` client with that base URL.

Each request passes, in order: governance, the endpoint's serve target, body checks, the canary
split (llmops/proxy/canary.py: the variant's model server, limits and gate), the prompt
experiment, runtime limits, the concurrency gate; then the model server gets it with `model` set to
its served model name.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from typing import Any, Final

from aiohttp import web

from llmops.proxy import envelope
from llmops.proxy.canary import CANARY, sticky_user
from llmops.proxy.delivery import LAST_WORDS_SECONDS, ClientGone, ClientStalled, Hold
from llmops.proxy.envelope import dumps_document
from llmops.proxy.exchange import AiohttpExchange, BodyRefused, Exchange
from llmops.proxy.experiments import apply_template, assign_variant
from llmops.proxy.fields import FieldError, check_fields, lone_surrogate
from llmops.proxy.governance import Denied, authorize, identify
from llmops.proxy.jsonbody import NotJson, loads_noting_orjson
from llmops.proxy.limits import LimitExceeded, check_input, check_output
from llmops.proxy.metrics import CLIENT_CLOSED
from llmops.proxy.state import STATE, EndpointRuntime, ProxyState
from llmops.proxy.upstream import (
    Answer,
    UpstreamError,
    check_answer,
    ended_cleanly,
    error_event,
    excerpt,
    fetch,
    open_stream,
    read_error_body,
    relay_stream,
)

# what a caller whose request the proxy's shutdown cut hears (after its grace period)
STOPPED: Final = (
    "the proxy stopped before this request was answered (it is restarting or scaling in); "
    "send the request again"
)
OPENAI_PATHS: Final = {
    "chat/completions": "chat",
    "completions": "completion",
    "embeddings": "embeddings",
}
PLATFORM_KINDS: Final = {"chat": "chat", "completion": "completion", "embeddings": "embeddings"}
UPSTREAM_PATH: Final = {
    "chat": "/chat/completions",
    "completion": "/completions",
    "embeddings": "/embeddings",
}
# What each DeploymentSpec serve_target answers (a target this proxy does not know answers
# everything).
KINDS_OF_TARGET: Final = {"GENERATION": ("chat", "completion"), "EMBEDDING": ("embeddings",)}
SSE_HEADERS: Final = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}
REQUEST_ID: Final = re.compile(r"[!-~]{1,200}")  # forwarded only when it is a plain token

# held here: compiled, `time.perf_counter` is an attribute lookup on the module at every call
_CLOCK: Final = time.perf_counter


class Refused(Exception):
    """A request answered by the proxy itself (4xx), with the metrics label saying why."""

    def __init__(
        self,
        status: int,
        message: str,
        reason: str,
        headers: dict[str, str] | None = None,
        close: bool = False,
    ):
        super().__init__(message)
        self.status, self.message, self.reason, self.headers, self.close = (
            status,
            message,
            reason,
            headers,
            close,
        )


class Whole:
    """An answer in one piece: its status, JSON body and extra headers. (Made per request:
    compiled, a plain class's constructor is native, where a named tuple's is Python code.)"""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: bytes, headers: Mapping[str, str] | None = None):
        self.status = status
        self.body = body
        self.headers = headers


class Outcome:
    """How a relayed request ended, for its metrics and its experiment's statistics. (Made per
    request: compiled, a plain class's constructor is native, where a dataclass's is Python code
    the dataclasses module wrote.)"""

    __slots__ = ("failed", "output_tokens", "status")

    def __init__(self) -> None:
        self.status = 502
        self.failed = True
        self.output_tokens: int | None = None


def _runtime(state: ProxyState, name: str) -> EndpointRuntime:
    runtime = state.by_route.get(name)
    if runtime is None:
        raise Refused(
            404,
            f"no endpoint is served at /llm-ops/v1/serve/{name[:100]} "
            f"in {state.config.environment}",
            "not_found",
        )
    return runtime


def _caller_id(state: ProxyState, headers: Mapping[str, str], runtime: EndpointRuntime) -> str:
    try:
        caller = identify(
            headers, state.access, state.token, state.environment, state.local_identity
        )
        if runtime.allowed_roles:  # most endpoints admit every caller the proxy admits
            authorize(caller, runtime.endpoint)
    except Denied as denied:
        reason = {400: "invalid", 401: "unauthorized"}.get(denied.status, "forbidden")
        raise Refused(denied.status, denied.message, reason) from None
    return caller.user_id


def _check_target(runtime: EndpointRuntime, kind: str) -> None:
    """A GENERATION model server has no embeddings route and an EMBEDDING one no chat: say so,
    rather than pass on the model server's bare 404."""
    served = KINDS_OF_TARGET.get(runtime.serve_target)
    if served is None or kind in served:
        return
    endpoint = runtime.endpoint
    names = {
        "chat": "chat completions",
        "completion": "text completions",
        "embeddings": "embeddings",
    }
    other = "EMBEDDING" if kind == "embeddings" else "GENERATION"
    raise Refused(
        400,
        f"endpoint {endpoint.name} serves {endpoint.serve_target} (its "
        f"deploymentSpec.serve_target), which answers {' and '.join(names[k] for k in served)}, "
        f"not {names[kind]}; {names[kind]} need an endpoint whose serve_target is {other}",
        "wrong_target",
    )


async def _json_body(
    exchange: Exchange, kind: str, read_timeout: float
) -> tuple[dict[str, Any], int]:
    """The request's body, checked, and its size in bytes."""
    try:
        raw = await exchange.read_body(read_timeout)
    except BodyRefused as refused:  # the body is unread or its framing lost: the connection ends
        raise Refused(refused.status, refused.message, "invalid", close=True) from None
    try:
        body, read_by_orjson = loads_noting_orjson(raw)
    except NotJson as error:
        raise Refused(
            400, f"the request body is not valid JSON ({error.message})", "invalid"
        ) from None
    if not isinstance(body, dict):
        raise Refused(400, "the request body must be a JSON object", "invalid")
    # orjson refuses a lone surrogate: only a body the standard library read can hold one
    surrogate = None if read_by_orjson else lone_surrogate(body)
    if surrogate is not None:
        raise Refused(
            400,
            "the request body holds a UTF-16 surrogate that is not part of a pair, which is no "
            f"character: {surrogate.encode('utf-8', 'backslashreplace').decode()}",
            "invalid",
        )
    try:
        check_fields(kind, body)
    except FieldError as wrong:
        raise Refused(400, wrong.message, "invalid") from None
    return body, len(raw)


def _prepare(
    runtime: EndpointRuntime, kind: str, body: dict[str, Any], user_id: str, size: int
) -> str | None:
    """Apply the experiment's template and the limits (``size``: the body's bytes as received);
    return the variant served, if any."""
    variant = None
    run = runtime.experiment
    if run is not None and kind != "embeddings":
        variant = assign_variant(run.experiment, user_id)
        apply_template(kind, body, run.texts[variant])
    limits = runtime.limits
    if limits is not None:
        try:
            # a template changed the body: its size as received says nothing
            check_input(kind, body, limits, size if variant is None else None)
            if kind != "embeddings":
                check_output(body, limits)
        except LimitExceeded as exceeded:
            reason = "input_too_long" if "input" in exceeded.message else "output_too_long"
            raise Refused(exceeded.status, exceeded.message, reason) from None
    body["model"] = runtime.served_name_for(body.get("model"))
    return variant


def routed(runtime: EndpointRuntime, user_id: str, body: dict[str, Any]) -> EndpointRuntime:
    """The variant that serves this user: the endpoint's own runtime, or its canary's."""
    if runtime.split is None or runtime.canary is None:
        return runtime
    chosen = runtime.split.variant_for(sticky_user(user_id, body))
    return runtime.canary if chosen == CANARY else runtime


def canary_headers(runtime: EndpointRuntime) -> dict[str, str]:
    """Which variant and model version answered, on endpoints with a canary."""
    if runtime.split is None:
        return {}
    model = runtime.endpoint.model
    return {"X-LLMOps-Canary": runtime.variant, "X-LLMOps-Model": f"{model.name}@{model.version}"}


JSON_BODY: Final = b"Content-Type: application/json\r\n"


def _upstream_headers(headers: Mapping[str, str]) -> bytes:
    """The header lines sent to the model server: the body's type, and the caller's request id when
    it is a plain token (so no line break can reach the request head)."""
    request_id = headers.get("x-request-id")
    if request_id is not None and REQUEST_ID.fullmatch(request_id):
        return JSON_BODY + b"X-Request-Id: " + request_id.encode("ascii") + b"\r\n"
    return JSON_BODY


async def _refuse(exchange: Exchange, refused: Refused, openai: bool) -> None:
    """The refusal in the route's shape; when the request's body is unread the connection cannot
    carry another request, and is closed after it."""
    await exchange.send(
        refused.status,
        envelope.failure_body(refused.status, refused.message, openai=openai),
        refused.headers,
        close=refused.close,
    )


async def platform_call(request: web.Request) -> web.StreamResponse:
    return await _aiohttp_call(request, PLATFORM_KINDS[request.match_info["kind"]], False)


async def openai_call(request: web.Request) -> web.StreamResponse:
    return await _aiohttp_call(request, OPENAI_PATHS[request.match_info["path"]], True)


async def _aiohttp_call(request: web.Request, kind: str, openai: bool) -> web.StreamResponse:
    """An inference request aiohttp's server parsed, known to the shutdown while it runs."""
    state = request.app[STATE]
    exchange = AiohttpExchange(request, state.options.write_timeout)
    task = asyncio.current_task()
    assert task is not None, "aiohttp runs each handler in a task"
    state.aiohttp_calls.add(task)
    try:
        await forward(exchange, state, request.match_info["name"], kind, openai)
    finally:
        state.aiohttp_calls.discard(task)
    return exchange.answer()


async def forward(
    exchange: Exchange, state: ProxyState, name: str, kind: str, openai: bool
) -> None:
    """Serve one inference request (``name`` the endpoint's route name as the caller wrote it,
    ``kind`` chat, completion or embeddings, ``openai`` on the OpenAI routes). **Raises:**
    ``ClientStalled`` or ``ClientGone`` when a refusal could not be written; any other exception is
    a bug, for the server's side to answer as a 500."""
    started = exchange.loop.time()
    api = f"openai-{kind}" if openai else kind
    try:
        runtime = _runtime(state, name)
        user_id = _caller_id(state, exchange.headers, runtime)
        _check_target(runtime, kind)
        body, size = await _json_body(exchange, kind, state.header_timeout)
        runtime = routed(runtime, user_id, body)
        stream = body.get("stream") is True
        if stream and not openai:
            raise Refused(
                400,
                f"the {kind} API answers in one piece; for a stream, POST to "
                f"/llm-ops/v1/serve/{name}/v1/"
                f"{'chat/completions' if kind == 'chat' else 'completions'}",
                "invalid",
            )
        variant = _prepare(runtime, kind, body, user_id, size)
        try:
            runtime.gate.enter()
        except LimitExceeded as busy:
            raise Refused(busy.status, busy.message, "too_many_requests", busy.headers) from None
    except Refused as refused:
        # an unknown name shares one label
        state.metrics.refused(name, api, refused.reason, refused.status)
        await _refuse(exchange, refused, openai)
        return
    await _call(exchange, state, runtime, kind, api, openai, body, stream, variant, started)


async def _call(
    exchange: Exchange,
    state: ProxyState,
    runtime: EndpointRuntime,
    kind: str,
    api: str,
    openai: bool,
    body: dict[str, Any],
    stream: bool,
    variant: str | None,
    started: float,
) -> None:
    metrics, name = state.metrics, runtime.name
    if runtime.split is None and (variant is None or runtime.experiment is None):
        headers = {}  # most endpoints: no canary, no experiment
    else:
        headers = (
            {}
            if variant is None or runtime.experiment is None
            else {
                "X-LLMOps-Experiment": runtime.experiment.experiment.id,
                "X-LLMOps-Variant": variant,
            }
        )
        headers.update(canary_headers(runtime))
    outcome = Outcome()
    clock = _CLOCK()
    metrics.started(name)
    hold = Hold(state.budget)
    try:
        url = runtime.openai_base + UPSTREAM_PATH[kind]
        try:
            if stream:
                whole = await _stream(
                    exchange,
                    state,
                    runtime,
                    url,
                    dumps_document(body),
                    headers,
                    outcome,
                    started,
                    hold,
                )
            else:
                whole = await _unary(
                    exchange,
                    state,
                    runtime,
                    url,
                    dumps_document(body),
                    headers,
                    openai,
                    outcome,
                    hold,
                )
        except UpstreamError as fault:
            metrics.upstream_error(name, fault.kind)
            outcome.status = fault.status
            whole = Whole(
                fault.status,
                envelope.failure_body(fault.status, fault.message, openai=openai),
                _retry_after(fault, headers),
            )
        # written while the slot and the held bytes are still taken
        if whole is not None:
            await exchange.send(whole.status, whole.body, whole.headers)
    except ClientStalled:
        metrics.connection_closed("write_timeout")
        outcome.status = CLIENT_CLOSED
    except ClientGone:
        outcome.status = CLIENT_CLOSED
    except asyncio.CancelledError:  # the client went away, or the proxy stops: the upstream
        # request is closed with it
        outcome.status = CLIENT_CLOSED
        await exchange.stopped(
            envelope.failure_body(503, STOPPED, openai=openai),
            error_event(STOPPED, 503),
            exchange.loop.time() + LAST_WORDS_SECONDS,
        )
        raise
    except Exception:
        outcome.status = 500
        raise
    finally:
        hold.release()
        elapsed = _CLOCK() - clock
        runtime.gate.leave()
        metrics.finished(name, api, outcome.status, elapsed)
        if (
            variant is not None
            and runtime.experiment is not None
            and outcome.status != CLIENT_CLOSED
        ):
            runtime.experiment.stats[variant].record(elapsed, outcome.failed, outcome.output_tokens)
            metrics.variant(runtime.experiment.experiment.id, variant, elapsed, outcome.failed)
        if runtime.split is not None and outcome.status != CLIENT_CLOSED:
            runtime.split.stats[runtime.variant].record(
                elapsed, outcome.failed, outcome.output_tokens
            )
            metrics.canary_variant(name, runtime.variant, elapsed, outcome.failed)


def _retry_after(fault: UpstreamError, headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Retry-After": "1"} if fault.status == 503 else headers


def _openai_refusal(answer: Answer, runtime: EndpointRuntime, headers: dict[str, str]) -> Whole:
    """A model server's 4xx on an OpenAI route: as is when it carries OpenAI's `error` object, else
    that object is added, so the `openai` client shows a message and not only a status code."""
    document = answer.document
    if isinstance(document, dict) and isinstance(document.get("error"), dict):
        return Whole(answer.status, answer.body, headers)
    return Whole(
        answer.status,
        envelope.failure_body(
            answer.status,
            f"{runtime.who} refused the request (HTTP {answer.status}): "
            f"{excerpt(answer.body) or '(no body)'}",
            data=document,
            openai=True,
        ),
        headers,
    )


async def _unary(
    exchange: Exchange,
    state: ProxyState,
    runtime: EndpointRuntime,
    url: str,
    payload: bytes,
    headers: dict[str, str],
    openai: bool,
    outcome: Outcome,
    hold: Hold,
) -> Whole:
    answer = await fetch(
        state.client,
        "POST",
        url,
        payload,
        _upstream_headers(exchange.headers),
        state.options,
        runtime.who,
        hold,
    )
    data = answer.document
    outcome.status = answer.status if answer.status >= 400 else 200
    if answer.status >= 400:  # the model server refused the request: pass its verdict on
        if openai:
            return _openai_refusal(answer, runtime, headers)
        return Whole(
            answer.status,
            envelope.failure_body(
                answer.status,
                f"the model server refused the request (HTTP {answer.status}): "
                f"{excerpt(answer.body)}",
                data=data,
            ),
            headers,
        )
    outcome.failed = False
    usage = data.get("usage") if isinstance(data, dict) else None
    if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
        outcome.output_tokens = usage["completion_tokens"]
    if openai:
        return Whole(200, answer.body, headers)
    return Whole(200, envelope.success_document_body(data), headers)


async def _stream(
    exchange: Exchange,
    state: ProxyState,
    runtime: EndpointRuntime,
    url: str,
    payload: bytes,
    headers: dict[str, str],
    outcome: Outcome,
    started: float,
    hold: Hold,
) -> Whole | None:
    """The stream relayed to the caller (None), or the model server's answer in one piece when it
    did not stream."""
    upstream = await open_stream(
        state.client,
        url,
        payload,
        _upstream_headers(exchange.headers),
        state.options,
        runtime.who,
        started,
    )
    reusable = False
    try:
        if upstream.status != 200 or upstream.content_type != "text/event-stream":
            body = await read_error_body(upstream, state.options, runtime.who, hold)
            answer = Answer(upstream.status, body, check_answer(upstream.status, body, runtime.who))
            outcome.status = answer.status
            outcome.failed = answer.status >= 400
            if answer.status >= 400:
                return _openai_refusal(answer, runtime, headers)
            return Whole(answer.status, body, headers)
        await exchange.start_stream({**SSE_HEADERS, **headers})
        outcome.status = 200
        try:
            fault, at_done = await relay_stream(
                exchange, upstream, state.options, runtime.who, started
            )
            await exchange.finish()
            reusable = at_done and await ended_cleanly(upstream)
        except ClientStalled:
            state.metrics.connection_closed("write_timeout")
            outcome.status = CLIENT_CLOSED
            return None
        except (ClientGone, ConnectionError):
            outcome.status = CLIENT_CLOSED
            return None
        if fault is not None:
            state.metrics.upstream_error(runtime.endpoint.name, fault.kind)
        else:
            outcome.failed = False
        return None
    finally:
        # A stream that ended with [DONE] and then the end of its body gives its connection back
        # to the pool (a new connection per stream cost the proxy and the model server a connect
        # each); any other is closed, which cancels an unfinished generation.
        if reusable:
            upstream.release()
        else:
            upstream.close()


async def models_call(request: web.Request) -> web.StreamResponse:
    """`GET .../v1/models`: the model server's list, as the `openai` client expects it."""
    state = request.app[STATE]
    exchange = AiohttpExchange(request, state.options.write_timeout)
    name = request.match_info["name"]
    try:
        runtime = _runtime(state, name)
        _caller_id(state, request.headers, runtime)
    except Refused as refused:
        state.metrics.refused(name, "openai-models", refused.reason, refused.status)
        await _refuse(exchange, refused, openai=True)
        return exchange.answer()
    hold = Hold(state.budget)
    try:
        try:
            answer = await fetch(
                state.client,
                "GET",
                runtime.openai_base + "/models",
                None,
                b"",
                state.options,
                runtime.who,
                hold,
            )
        except UpstreamError as fault:
            state.metrics.upstream_error(runtime.endpoint.name, fault.kind)
            whole = Whole(
                fault.status,
                envelope.failure_body(fault.status, fault.message, openai=True),
                _retry_after(fault, {}),
            )
        else:
            whole = (
                _openai_refusal(answer, runtime, {})
                if answer.status >= 400
                else Whole(answer.status, answer.body)
            )
        await exchange.send(whole.status, whole.body, whole.headers)
        return exchange.answer()
    finally:
        hold.release()
