"""Calls to model servers, with bounded waits and buffers, and their failures as clear 502/504 errors.

A whole answer is read up to `max_response_bytes`. A stream is relayed piece by piece as it arrives
(never held), waiting at most `stream_idle_timeout` between pieces; a stream the model server cuts,
or ends without OpenAI's closing `data: [DONE]`, gets a final SSE event carrying an `error` object
(the `openai` client raises it as an APIError), since its 200 status is already sent.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from llmops.proxy.backends import health_url, is_ready
from llmops.proxy.config import Backend
from llmops.proxy.envelope import dumps
from llmops.proxy.options import ProxyOptions

DONE_MARK = b"data: [DONE]"
EXCERPT_CHARS = 200


class UpstreamError(Exception):
    """A model-server fault: ``status`` 502 or 504, ``kind`` a metrics label, ``message`` for people."""

    def __init__(self, status: int, kind: str, message: str):
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


class ClientGone(Exception):
    """The caller closed its connection while a stream was being relayed."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes


def excerpt(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip().replace("\n", " ")
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"


def _fault(error: BaseException, who: str, timeout: float) -> UpstreamError:
    """Translate aiohttp's and asyncio's exceptions (the order matters: timeouts are OSErrors too)."""
    if isinstance(error, asyncio.TimeoutError):
        return UpstreamError(504, "timeout", f"{who} did not answer within {timeout:g} s")
    if isinstance(error, aiohttp.ClientConnectorError):
        return UpstreamError(502, "connect", f"cannot connect to {who}: {error.os_error.strerror or error}")
    if isinstance(error, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError):
        return UpstreamError(502, "disconnected", f"{who} closed the connection before the answer was complete")
    return UpstreamError(502, "disconnected", f"the connection to {who} failed ({type(error).__name__}: {error})")


async def _read_bounded(response: aiohttp.ClientResponse, limit: int, who: str) -> bytes:
    length = response.content_length
    if length is not None:
        if length > limit:
            raise UpstreamError(502, "too_large", f"{who} sent {length} bytes, more than the proxy holds ({limit})")
        return await response.read()
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise UpstreamError(502, "too_large", f"{who} sent more than the proxy holds ({limit} bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


async def fetch(session: aiohttp.ClientSession, method: str, url: str, body: bytes | None,
                headers: dict[str, str], options: ProxyOptions, who: str) -> Answer:
    """One whole answer. **Raises:** ``UpstreamError`` for a fault (never for an HTTP error status)."""
    timeout = aiohttp.ClientTimeout(total=options.response_timeout, connect=options.connect_timeout)
    try:
        async with session.request(method, url, data=body, headers=headers, timeout=timeout) as response:
            return Answer(response.status, await _read_bounded(response, options.max_response_bytes, who))
    except (TimeoutError, aiohttp.ClientError) as error:
        raise _fault(error, who, options.response_timeout) from None


async def open_stream(session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str],
                      options: ProxyOptions, who: str) -> aiohttp.ClientResponse:
    """Send a streaming request and wait for the response head. The caller must close the response."""
    timeout = aiohttp.ClientTimeout(total=options.stream_timeout, connect=options.connect_timeout,
                                    sock_read=options.stream_idle_timeout)
    try:
        return await session.post(url, data=body, headers=headers, timeout=timeout)
    except (TimeoutError, aiohttp.ClientError) as error:
        raise _fault(error, who, options.stream_idle_timeout) from None


async def read_error_body(response: aiohttp.ClientResponse, options: ProxyOptions, who: str) -> bytes:
    try:
        return await _read_bounded(response, options.max_response_bytes, who)
    except (TimeoutError, aiohttp.ClientError) as error:
        raise _fault(error, who, options.stream_idle_timeout) from None


def error_event(message: str, status: int) -> bytes:
    return b"data: " + dumps({"error": {"message": message, "type": "upstream_error", "code": status}}) + b"\n\n"


async def relay_stream(upstream: aiohttp.ClientResponse, downstream: web.StreamResponse, options: ProxyOptions,
                       who: str) -> UpstreamError | None:
    """Copy the stream as it arrives. **Returns:** the fault that ended it early (already reported to
    the caller as an error event), or None. **Raises:** ``ClientGone`` when the caller went away."""
    tail = b""
    finished = False
    fault: UpstreamError | None = None
    while True:
        try:
            chunk = await upstream.content.readany()
        except TimeoutError:
            fault = UpstreamError(504, "timeout", f"{who} sent nothing for {options.stream_idle_timeout:g} s "
                                                  "in the middle of a stream")
            break
        except aiohttp.ClientError:
            fault = UpstreamError(502, "stream_cut", f"{who} cut the connection in the middle of a stream")
            break
        if not chunk:
            break
        if not finished:
            finished = DONE_MARK in tail + chunk
            tail = chunk[-len(DONE_MARK):]
        await _write(downstream, chunk)
    if fault is None and not finished:
        fault = UpstreamError(502, "stream_cut", f"{who} ended the stream without data: [DONE]")
    if fault is not None:
        await _write(downstream, error_event(fault.message, fault.status))
    return fault


async def _write(downstream: web.StreamResponse, data: bytes) -> None:
    try:
        await downstream.write(data)
    except (ConnectionError, aiohttp.ClientConnectionError):  # aiohttp's server raises the latter
        raise ClientGone() from None


HEALTH_BODY_LIMIT = 64 * 1024


async def probe(session: aiohttp.ClientSession, backend: Backend, options: ProxyOptions, who: str) -> str | None:
    """Ask a model server whether it can serve. **Returns:** None when ready, else why not."""
    timeout = aiohttp.ClientTimeout(total=options.health_timeout)
    try:
        async with session.get(health_url(backend), timeout=timeout) as response:
            body = await _read_bounded(response, HEALTH_BODY_LIMIT, who)
            status = response.status
    except (TimeoutError, aiohttp.ClientError) as error:
        return _fault(error, who, options.health_timeout).message
    except UpstreamError as fault:
        return fault.message
    try:
        document = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        document = None
    return None if is_ready(backend, status, document) else f"{who} is not ready (HTTP {status})"
