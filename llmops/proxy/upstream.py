"""Calls to model servers, with bounded waits and buffers, and their failures as clear 502/504
errors.

- A whole answer is read up to `max_response_bytes`, counted after decompression (a small gzip body
  can expand a thousandfold), and must be strict JSON (llmops/proxy/jsonbody.py).
- Redirects are never followed: a model server answering 3xx is a fault, not a pointer to fetch.
- A connection that carried an error (a fault, an error status or a redirect, an answer too large to
  hold) is closed, never returned to the pool: whatever state it was left in cannot reach the next
  request. (A 2xx answer whose body is not JSON arrived whole and well framed; its connection is
  kept.)
- Whole answers being held count against the proxy's ``AnswerBudget`` (llmops/proxy/delivery.py):
  past it, a 503 `too_busy`.
- A stream is relayed event by event as it arrives (never held), each event checked
  (llmops/proxy/sse.py). Its first piece may take `response_timeout` (prefill and queueing come
  first), each later one `stream_idle_timeout`, the whole stream `stream_timeout`; each write to the
  caller `write_timeout`, never past the stream's end. A stream is asked for uncompressed; one
  sent compressed anyway is bounded to `max_response_bytes` once decoded (a 1 MB gzip stream can
  expand to 1 GiB). A stream the model server cuts, ends without OpenAI's closing `data: [DONE]`,
  or that carries an event that is not JSON, gets a final SSE event carrying an `error` object (the
  `openai` client raises it as an APIError), since its 200 status is already sent.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any, Final

from llmops.proxy.backends import health_url, is_ready
from llmops.proxy.config import Backend
from llmops.proxy.deadline import within
from llmops.proxy.delivery import BudgetExhausted, Hold
from llmops.proxy.envelope import dumps
from llmops.proxy.exchange import Exchange
from llmops.proxy.jsonbody import NotJson, loads, loads_utf8
from llmops.proxy.options import ProxyOptions
from llmops.proxy.sse import EventStream
from llmops.proxy.upstream_pool import (
    ConnectFailed,
    DecodedTooLarge,
    Disconnected,
    Reply,
    UpstreamFault,
    UpstreamPool,
)

EXCERPT_CHARS: Final = 200
HEALTH_BODY_LIMIT: Final = 64 * 1024
# a whole answer may come compressed (it is decoded, within bounds); a stream is asked for as is
WHOLE_ENCODINGS: Final = b"Accept-Encoding: gzip, deflate\r\n"
STREAM_ENCODINGS: Final = b"Accept-Encoding: identity\r\n"


class UpstreamError(Exception):
    """A model-server fault: ``status`` 502 or 504, ``kind`` a metrics label, ``message`` for
    people."""

    def __init__(self, status: int, kind: str, message: str):
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


class Answer:
    """A model server's whole answer: ``document`` is its JSON (the status is below 500, not
    3xx). Made per request: compiled, a plain class's constructor is native, where a named
    tuple's is Python code and a dataclass's too."""

    __slots__ = ("body", "document", "status")

    def __init__(self, status: int, body: bytes, document: Any):
        self.status = status
        self.body = body
        self.document = document


def excerpt(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip().replace("\n", " ")
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"


def _fault(error: BaseException, who: str, timeout: float) -> UpstreamError:
    """Translate the client's and asyncio's exceptions."""
    if isinstance(error, TimeoutError):
        return UpstreamError(504, "timeout", f"{who} did not answer within {timeout:g} s")
    if isinstance(error, ConnectFailed):
        why = f"cannot connect to {who}: {error.error.strerror or error}"
        if isinstance(error.error, socket.gaierror) and ".svc.cluster.local" in who:
            why += (
                " (an address that resolves only inside the cluster: outside it, start the proxy "
                "with --backend ENDPOINT=URL)"
            )
        return UpstreamError(502, "connect", why)
    if isinstance(error, Disconnected):
        return UpstreamError(
            502, "disconnected", f"{who} closed the connection before the answer was complete"
        )
    return UpstreamError(
        502, "disconnected", f"the connection to {who} failed ({type(error).__name__}: {error})"
    )


def header_lines(headers: dict[str, str]) -> bytes:
    """Request headers as the lines of a request head (values are the proxy's own or checked
    tokens)."""
    return "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode("latin-1")


async def _read_bounded(response: Reply, limit: int, who: str, hold: Hold | None = None) -> bytes:
    """The body as decoded, refused past ``limit`` bytes: Content-Length counts the bytes on the
    wire, which a compressed body exceeds many times once decoded, so the decoded bytes are counted
    too. What is read is taken from ``hold``, refused when the proxy holds too much already."""
    length = response.content_length
    if length is not None and length > limit:
        raise UpstreamError(
            502, "too_large", f"{who} sent {length} bytes, more than the proxy holds ({limit})"
        )
    encoded = response.encoded
    chunks: list[bytes] = []
    size = 0
    while True:
        try:
            chunk = response.read_nowait()  # most answers have arrived with their head
            if not chunk and not response.is_eof():
                chunk = await response.readany()
        except DecodedTooLarge:
            raise UpstreamError(
                502,
                "too_large",
                f"{who} sent more than the proxy holds ({limit} bytes once decompressed)",
            ) from None
        if not chunk:
            break
        size += len(chunk)
        if hold is not None:
            try:
                hold.take(len(chunk))
            except BudgetExhausted:
                raise UpstreamError(
                    503,
                    "too_busy",
                    f"the proxy already holds {hold.budget.limit} bytes of answers for callers; "
                    "retry shortly",
                ) from None
        if size > limit:
            raise UpstreamError(
                502,
                "too_large",
                f"{who} sent more than the proxy holds ({limit} bytes"
                f"{' once decompressed' if encoded else ''})",
            )
        chunks.append(chunk)
    return b"".join(chunks)


def close_after(response: Reply) -> None:
    """Make sure the response's connection is closed rather than pooled (an error status or a
    redirect: whatever state it was left in cannot reach the next request)."""
    response.keep_alive = False


def check_answer(status: int, body: bytes, who: str) -> Any:
    """The JSON of an answer the proxy can pass on; for a 4xx whose body is not strict JSON (a
    text/plain 418), None: the model server's verdict is passed on with its text as the message.
    **Raises:** ``UpstreamError`` for a 5xx, a redirect, or a 2xx body that is not strict JSON."""
    if status >= 500:
        raise UpstreamError(
            502, "status", f"{who} answered HTTP {status}: {excerpt(body) or '(no body)'}"
        )
    if 300 <= status < 400:
        raise UpstreamError(
            502,
            "redirect",
            f"{who} answered with a redirect (HTTP {status}), which the proxy "
            "does not follow: check the endpoint's backend address",
        )
    try:
        return loads_utf8(body)
    except NotJson as error:
        if 400 <= status < 500:
            return None
        why = "" if error.kind == "invalid" else f" ({error.message})"
        raise UpstreamError(
            502,
            "invalid_json",
            f"{who} answered HTTP {status} with a body that is not "
            f"JSON{why}: {excerpt(body) or '(empty)'}",
        ) from None


async def fetch(
    pool: UpstreamPool,
    method: str,
    url: str,
    body: bytes | None,
    headers: bytes,
    options: ProxyOptions,
    who: str,
    hold: Hold | None = None,
) -> Answer:
    """One whole answer, checked with ``check_answer``, its bytes taken from ``hold``
    (``headers``: ``header_lines``). **Raises:** ``UpstreamError`` for a fault or an answer that
    cannot be passed on (never for a 4xx, which is the model server's verdict)."""
    limit = options.max_response_bytes
    loop = pool.loop
    try:
        async with within(loop, loop.time() + options.response_timeout):
            response = await pool.request(
                method, url, body, headers + WHOLE_ENCODINGS, options.connect_timeout, limit
            )
            try:
                if response.status >= 300:
                    close_after(response)
                raw = await _read_bounded(response, limit, who, hold)
            except BaseException:
                response.close()
                raise
            response.release()  # read to its end: a body that is not JSON was still well framed
    except (TimeoutError, UpstreamFault) as error:
        raise _fault(error, who, options.response_timeout) from None
    return Answer(response.status, raw, check_answer(response.status, raw, who))


async def open_stream(
    pool: UpstreamPool,
    url: str,
    body: bytes,
    headers: bytes,
    options: ProxyOptions,
    who: str,
    started: float,
) -> Reply:
    """Send a streaming request and wait for the response head, until ``started`` (the loop's time
    when the request began) plus `response_timeout`. The caller must close or release the
    response."""
    try:
        async with within(pool.loop, started + options.response_timeout):
            return await pool.request(
                "POST",
                url,
                body,
                headers + STREAM_ENCODINGS,
                options.connect_timeout,
                options.max_response_bytes,
            )
    except (TimeoutError, UpstreamFault) as error:
        raise _fault(error, who, options.response_timeout) from None


async def read_error_body(
    response: Reply, options: ProxyOptions, who: str, hold: Hold | None = None
) -> bytes:
    loop = response.loop
    try:
        async with within(loop, loop.time() + options.response_timeout):
            return await _read_bounded(response, options.max_response_bytes, who, hold)
    except (TimeoutError, UpstreamFault) as error:
        raise _fault(error, who, options.response_timeout) from None


# How long the end of a stream's body may take to follow its [DONE] before the connection is closed
# rather than pooled (a server sends the two at once or nearly).
STREAM_END_SECONDS: Final = 0.05


async def ended_cleanly(upstream: Reply) -> bool:
    """Whether a stream relayed up to its [DONE] also ended its body, with nothing after it, so its
    connection can carry another request."""
    if upstream.is_eof():
        return True
    loop = upstream.loop
    try:
        async with within(loop, loop.time() + STREAM_END_SECONDS):
            return await upstream.readany() == b""
    except (TimeoutError, UpstreamFault):
        return False


def error_event(message: str, status: int) -> bytes:
    return (
        b"data: "
        + dumps({"error": {"message": message, "type": "upstream_error", "code": status}})
        + b"\n\n"
    )


def _stream_timeout(options: ProxyOptions, who: str, first: bool, overall: bool) -> UpstreamError:
    if overall:
        return UpstreamError(
            504, "timeout", f"{who} streamed for longer than {options.stream_timeout:g} s"
        )
    if first:
        return UpstreamError(
            504,
            "timeout",
            f"{who} sent nothing within {options.response_timeout:g} s of the request",
        )
    return UpstreamError(
        504,
        "timeout",
        f"{who} sent nothing for {options.stream_idle_timeout:g} s in the middle of a stream",
    )


def _decoded_too_large(who: str, limit: int) -> UpstreamError:
    return UpstreamError(
        502,
        "too_large",
        f"{who} sent a compressed stream of more than {limit} bytes once decompressed",
    )


async def relay_stream(
    exchange: Exchange,
    upstream: Reply,
    options: ProxyOptions,
    who: str,
    started: float,
) -> tuple[UpstreamError | None, bool]:
    """Copy the stream event by event as it arrives. **Returns:** the fault that ended it early
    (already reported to the caller as an error event), or None; and whether nothing came after
    its [DONE] (then, with ``ended_cleanly``, its connection may be reused). **Raises:**
    ``ClientGone`` when the caller went away, ``ClientStalled`` when it stopped reading (its
    connection aborted)."""
    loop = upstream.loop
    events = EventStream()
    end = started + options.stream_timeout
    decoded_limit = options.max_response_bytes if upstream.encoded else None
    decoded = 0
    first = True
    fault: UpstreamError | None = None
    while not events.done:
        deadline = min(
            started + options.response_timeout
            if first
            else loop.time() + options.stream_idle_timeout,
            end,
        )
        try:
            chunk = upstream.read_nowait()  # what has arrived: no timer to set and cancel
            if not chunk and not upstream.is_eof():
                async with within(loop, deadline):
                    chunk = await upstream.readany()
        except TimeoutError:
            fault = _stream_timeout(options, who, first, loop.time() >= end)
            break
        except DecodedTooLarge:
            fault = _decoded_too_large(who, options.max_response_bytes)
            break
        except UpstreamFault:
            fault = UpstreamError(
                502, "stream_cut", f"{who} cut the connection in the middle of a stream"
            )
            break
        if not chunk:
            break
        first = False
        decoded += len(chunk)
        if decoded_limit is not None and decoded > decoded_limit:
            fault = _decoded_too_large(who, decoded_limit)
            break
        complete = events.feed(chunk)
        if complete:
            deadline = min(loop.time() + options.write_timeout, end)
            if events.done:  # the last events: the stream's end goes with them when it can
                await exchange.end(complete, deadline)
            else:
                await exchange.write(complete, deadline)
        if events.failure is not None:
            fault = UpstreamError(502, events.failure.kind, f"{who} sent {events.failure.message}")
            break
    if fault is None:
        last = events.finish()
        if last:
            await exchange.write(last, min(loop.time() + options.write_timeout, end))
        if not events.done:
            fault = UpstreamError(502, "stream_cut", f"{who} ended the stream without data: [DONE]")
    if fault is not None:
        await exchange.write(
            error_event(fault.message, fault.status), loop.time() + options.write_timeout
        )
    return fault, fault is None and events.ended_at_done


async def probe(
    pool: UpstreamPool, backend: Backend, options: ProxyOptions, who: str
) -> str | None:
    """Ask a model server whether it can serve. **Returns:** None when ready, else why not."""
    try:
        async with asyncio.timeout(options.health_timeout):
            response = await pool.request(
                "GET",
                health_url(backend),
                None,
                WHOLE_ENCODINGS,
                options.connect_timeout,
                HEALTH_BODY_LIMIT,
            )
            status = response.status
            try:
                if status >= 300:
                    close_after(response)
                body = await _read_bounded(response, HEALTH_BODY_LIMIT, who)
            except BaseException:
                response.close()
                raise
            response.release()
    except (TimeoutError, UpstreamFault) as error:
        return _fault(error, who, options.health_timeout).message
    except UpstreamError as fault:
        return fault.message
    try:
        document = loads(body) if body else None
    except NotJson:
        document = None
    return None if is_ready(backend, status, document) else f"{who} is not ready (HTTP {status})"
