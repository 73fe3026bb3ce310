"""Calls to model servers, with bounded waits and buffers, and their failures as clear 502/504
errors.

- A whole answer is read up to `max_response_bytes`, counted after decompression (a small gzip body
  can expand a thousandfold), and must be strict JSON (llmops/proxy/jsonbody.py).
- Redirects are never followed: a model server answering 3xx is a fault, not a pointer to fetch.
- A connection that carried an error (a fault, an error status or a redirect, an answer too large to
  hold) is closed, never returned to the pool: whatever state it was left in cannot reach the next
  request. (A 2xx answer whose body is not JSON arrived whole and well framed; its connection is
  kept.)
- A stream is relayed piece by piece as it arrives (never held). Its first piece may take
  `response_timeout` (prefill and queueing come first), each later one `stream_idle_timeout`, the
  whole stream `stream_timeout`. A stream the model server cuts, or ends without OpenAI's closing
  `data: [DONE]` line, gets a final SSE event carrying an `error` object (the `openai` client raises
  it as an APIError), since its 200 status is already sent.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from llmops.proxy.backends import health_url, is_ready
from llmops.proxy.config import Backend
from llmops.proxy.envelope import dumps
from llmops.proxy.jsonbody import NotJson, loads
from llmops.proxy.options import ProxyOptions

EXCERPT_CHARS = 200
HEALTH_BODY_LIMIT = 64 * 1024


class UpstreamError(Exception):
    """A model-server fault: ``status`` 502 or 504, ``kind`` a metrics label, ``message`` for
    people."""

    def __init__(self, status: int, kind: str, message: str):
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


class ClientGone(Exception):
    """The caller closed its connection while a stream was being relayed."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A model server's whole answer: ``document`` is its JSON (the status is below 500, not
    3xx)."""

    status: int
    body: bytes
    document: Any


def excerpt(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip().replace("\n", " ")
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"


def _fault(error: BaseException, who: str, timeout: float) -> UpstreamError:
    """Translate aiohttp's and asyncio's exceptions (the order matters: timeouts are OSErrors
    too)."""
    if isinstance(error, asyncio.TimeoutError):
        return UpstreamError(504, "timeout", f"{who} did not answer within {timeout:g} s")
    if isinstance(error, aiohttp.ClientConnectorError):
        return UpstreamError(
            502, "connect", f"cannot connect to {who}: {error.os_error.strerror or error}"
        )
    if isinstance(error, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError):
        return UpstreamError(
            502, "disconnected", f"{who} closed the connection before the answer was complete"
        )
    return UpstreamError(
        502, "disconnected", f"the connection to {who} failed ({type(error).__name__}: {error})"
    )


async def _read_bounded(response: aiohttp.ClientResponse, limit: int, who: str) -> bytes:
    """The body as decoded, refused past ``limit`` bytes: Content-Length counts the bytes on the
    wire, which a compressed body exceeds many times once decoded, so the decoded bytes are counted
    too."""
    length = response.content_length
    if length is not None and length > limit:
        raise UpstreamError(
            502, "too_large", f"{who} sent {length} bytes, more than the proxy holds ({limit})"
        )
    encoded = response.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise UpstreamError(
                502,
                "too_large",
                f"{who} sent more than the proxy holds ({limit} bytes"
                f"{' once decompressed' if encoded else ''})",
            )
        chunks.append(chunk)
    return b"".join(chunks)


def close_after(response: aiohttp.ClientResponse) -> None:
    """Make sure the response's connection is closed rather than pooled. Called as soon as the head
    is read: with a body to come, the connection is marked to close when it is released; with no
    body, aiohttp has already put it back in the pool, without a pause in between in which another
    request could have taken it, so it is closed there."""
    connection = response.connection
    if connection is not None and connection.protocol is not None:
        connection.protocol.force_close()
        return
    protocol = getattr(response, "_protocol", None)  # aiohttp keeps the protocol after releasing it
    if protocol is not None:
        protocol.close()


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
        return loads(body)
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
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    body: bytes | None,
    headers: dict[str, str],
    options: ProxyOptions,
    who: str,
) -> Answer:
    """One whole answer, checked with ``check_answer``. **Raises:** ``UpstreamError`` for a fault or
    an answer that cannot be passed on (never for a 4xx, which is the model server's verdict)."""
    timeout = aiohttp.ClientTimeout(total=options.response_timeout, connect=options.connect_timeout)
    try:
        async with session.request(
            method, url, data=body, headers=headers, timeout=timeout, allow_redirects=False
        ) as response:
            if response.status >= 300:
                close_after(response)
            try:
                raw = await _read_bounded(response, options.max_response_bytes, who)
                return Answer(response.status, raw, check_answer(response.status, raw, who))
            except BaseException:
                response.close()
                raise
    except (TimeoutError, aiohttp.ClientError) as error:
        raise _fault(error, who, options.response_timeout) from None


async def open_stream(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: dict[str, str],
    options: ProxyOptions,
    who: str,
    started: float,
) -> aiohttp.ClientResponse:
    """Send a streaming request and wait for the response head, until ``started`` (the loop's time
    when the request began) plus `response_timeout`. The caller must close the response."""
    timeout = aiohttp.ClientTimeout(total=None, connect=options.connect_timeout)
    try:
        async with asyncio.timeout_at(started + options.response_timeout):
            return await session.post(
                url, data=body, headers=headers, timeout=timeout, allow_redirects=False
            )
    except (TimeoutError, aiohttp.ClientError) as error:
        raise _fault(error, who, options.response_timeout) from None


async def read_error_body(
    response: aiohttp.ClientResponse, options: ProxyOptions, who: str
) -> bytes:
    try:
        async with asyncio.timeout(options.response_timeout):
            return await _read_bounded(response, options.max_response_bytes, who)
    except (TimeoutError, aiohttp.ClientError) as error:
        raise _fault(error, who, options.response_timeout) from None


def error_event(message: str, status: int) -> bytes:
    return (
        b"data: "
        + dumps({"error": {"message": message, "type": "upstream_error", "code": status}})
        + b"\n\n"
    )


class DoneWatcher:
    """Whether a stream has carried OpenAI's end line, `data: [DONE]`, as a line of its own (the
    text inside a JSON event, `"content": "data: [DONE]"`, does not count). Holds only the start of
    the current line, however long lines are."""

    KEEP = 32

    def __init__(self) -> None:
        self.done = False
        self._line_start = b""

    @staticmethod
    def _is_done(line: bytes) -> bool:
        if not line.startswith(b"data:"):
            return False
        value = line[5:]
        return (value[1:] if value.startswith(b" ") else value).startswith(b"[DONE]")

    def feed(self, chunk: bytes) -> None:
        if self.done:
            return
        pieces = chunk.replace(b"\r", b"\n").split(b"\n")
        for piece in pieces[:-1]:  # each ends a line
            if self._is_done((self._line_start + piece[: self.KEEP])[: self.KEEP]):
                self.done = True
                return
            self._line_start = b""
        self._line_start = (self._line_start + pieces[-1][: self.KEEP])[: self.KEEP]

    def finish(self) -> None:
        """The stream ended: its last line counts even without a line break after it."""
        self.done = self.done or self._is_done(self._line_start)


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


async def relay_stream(
    upstream: aiohttp.ClientResponse,
    downstream: web.StreamResponse,
    options: ProxyOptions,
    who: str,
    started: float,
) -> UpstreamError | None:
    """Copy the stream as it arrives. **Returns:** the fault that ended it early (already reported
    to the caller as an error event), or None. **Raises:** ``ClientGone`` when the caller went
    away."""
    loop = asyncio.get_running_loop()
    watcher = DoneWatcher()
    end = started + options.stream_timeout
    first = True
    fault: UpstreamError | None = None
    while True:
        deadline = min(
            started + options.response_timeout
            if first
            else loop.time() + options.stream_idle_timeout,
            end,
        )
        try:
            async with asyncio.timeout_at(deadline):
                chunk = await upstream.content.readany()
        except TimeoutError:
            fault = _stream_timeout(options, who, first, loop.time() >= end)
            break
        except aiohttp.ClientError:
            fault = UpstreamError(
                502, "stream_cut", f"{who} cut the connection in the middle of a stream"
            )
            break
        if not chunk:
            break
        first = False
        watcher.feed(chunk)
        await _write(downstream, chunk)
    watcher.finish()
    if fault is None and not watcher.done:
        fault = UpstreamError(502, "stream_cut", f"{who} ended the stream without data: [DONE]")
    if fault is not None:
        await _write(downstream, error_event(fault.message, fault.status))
    return fault


async def _write(downstream: web.StreamResponse, data: bytes) -> None:
    try:
        await downstream.write(data)
    except (ConnectionError, aiohttp.ClientConnectionError):  # aiohttp's server raises the latter
        raise ClientGone() from None


async def probe(
    session: aiohttp.ClientSession, backend: Backend, options: ProxyOptions, who: str
) -> str | None:
    """Ask a model server whether it can serve. **Returns:** None when ready, else why not."""
    timeout = aiohttp.ClientTimeout(total=options.health_timeout)
    try:
        async with session.get(
            health_url(backend), timeout=timeout, allow_redirects=False
        ) as response:
            status = response.status
            if status >= 300:
                close_after(response)
            try:
                body = await _read_bounded(response, HEALTH_BODY_LIMIT, who)
            except BaseException:
                response.close()
                raise
    except (TimeoutError, aiohttp.ClientError) as error:
        return _fault(error, who, options.health_timeout).message
    except UpstreamError as fault:
        return fault.message
    try:
        document = loads(body) if body else None
    except NotJson:
        document = None
    return None if is_ready(backend, status, document) else f"{who} is not ready (HTTP {status})"
