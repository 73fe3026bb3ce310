"""One inference request and its answer as the routes see them, whichever HTTP server parsed the
request: aiohttp's (``AiohttpExchange``, here) or the proxy's own for plain inference requests
(llmops/proxy/front.py). The routes (llmops/proxy/serve_routes.py) read the body and write the
answer only through this, so every bound is kept by the server's side: the body's size and time,
each write's time (llmops/proxy/delivery.py).
"""

from __future__ import annotations

import asyncio
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from llmops.proxy.delivery import ClientGone, ClientStalled, deliver, end_within, write_within
from llmops.proxy.envelope import JSON


class BodyRefused(Exception):
    """The request's body cannot be had: too large (413), too slow (408), or its framing or
    encoding is broken (400). The connection cannot carry another request after it."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def too_large(limit: int) -> BodyRefused:
    return BodyRefused(413, f"the request body is larger than {limit} bytes")


def too_slow(timeout: float) -> BodyRefused:
    return BodyRefused(408, f"the request body did not arrive within {timeout:g} s")


class Exchange(ABC):
    """A request being served: its headers, its body, and its answer (a JSON body in one piece, or
    a stream of server-sent events). Writes raise ``ClientStalled`` (the connection is aborted) or
    ``ClientGone`` (llmops/proxy/delivery.py)."""

    __slots__ = ()

    headers: Mapping[str, str]  # read by lower-case name (aiohttp's are case-insensitive)
    loop: asyncio.AbstractEventLoop  # the one serving the request

    @abstractmethod
    async def read_body(self, timeout: float) -> bytes:
        """The whole body, within ``timeout`` s. **Raises:** ``BodyRefused``."""

    @abstractmethod
    async def send(
        self, status: int, body: bytes, headers: Mapping[str, str] | None, close: bool = False
    ) -> None:
        """A JSON answer in one piece (``close``: the connection ends after it)."""

    @abstractmethod
    async def start_stream(self, headers: Mapping[str, str]) -> None:
        """A 200 with a chunked body: its head, written at once."""

    @abstractmethod
    async def write(self, data: bytes, deadline: float) -> None:
        """A piece of the stream, taken by the caller before the loop's time ``deadline``."""

    @abstractmethod
    async def end(self, data: bytes, deadline: float) -> None:
        """The stream's last piece, with its end in the same write when that cannot wait."""

    @abstractmethod
    async def finish(self) -> None:
        """The stream's end, unless ``end`` wrote it."""

    @abstractmethod
    def answered(self) -> bool | None:
        """Whether the answer is out whole (True), begun as a stream (None) or not begun (False)."""

    async def stopped(self, refusal: bytes, event: bytes, deadline: float) -> None:
        """The server stops while this request is not answered (its handler cancelled after the
        shutdown's grace period): tell the caller, if it still listens, instead of closing its
        connection without a word. Not begun: ``refusal``, a 503 with Retry-After that closes the
        connection (the `openai` client retries it); a stream: ``event`` as its last event, then
        its end. Never raises for a caller gone or not reading."""
        answered = self.answered()
        if answered:
            return
        try:
            if answered is None:
                await self.end(event, deadline)
            else:
                await self.send(503, refusal, {"Retry-After": "1"}, close=True)
        except (ClientGone, ClientStalled, ConnectionError, RuntimeError):
            pass  # gone, or its connection already closing: nobody to tell


class AiohttpExchange(Exchange):
    """A request aiohttp parsed: the answer goes out through aiohttp's response objects, written
    with ``delivery``'s bounded waits; ``answer()`` is what the route handler returns."""

    __slots__ = ("_ended", "_sent", "_write_timeout", "headers", "loop", "request")

    def __init__(self, request: web.BaseRequest, write_timeout: float):
        self.request = request
        self.loop = asyncio.get_running_loop()
        self.headers = request.headers
        self._write_timeout = write_timeout
        self._sent: web.StreamResponse | None = None
        self._ended = False  # the answer whole, or its stream's end, written

    def answer(self) -> web.StreamResponse:
        """What was sent, for aiohttp to finish; an empty answer when the caller went away before
        (its connection is gone: aiohttp sends nothing more)."""
        return self._sent if self._sent is not None else web.Response()

    async def read_body(self, timeout: float) -> bytes:
        request = self.request
        try:
            if request.content.is_eof():  # all of it has arrived: read at once, no timer to set
                return await request.read()
            async with asyncio.timeout(timeout):
                return await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise too_large(request.client_max_size) from None
        except TimeoutError:
            raise too_slow(timeout) from None
        except (RequestPayloadError, HttpProcessingError) as error:  # an undecodable
            # Content-Encoding, a broken chunked framing: the connection's framing is lost
            reason = re.sub(r"^\d{3}, message: ", "", " ".join(str(error).split()))[:200]
            raise BodyRefused(400, f"the request body cannot be read ({reason})") from None

    async def send(
        self, status: int, body: bytes, headers: Mapping[str, str] | None, close: bool = False
    ) -> None:
        response = web.Response(status=status, body=body, content_type=JSON, headers=headers)
        if close:
            response.force_close()
        self._ended = True
        self._sent = await deliver(self.request, response, self._write_timeout)

    async def start_stream(self, headers: Mapping[str, str]) -> None:
        response = web.StreamResponse(headers=headers)
        await response.prepare(self.request)
        self._sent = response

    async def write(self, data: bytes, deadline: float) -> None:
        assert self._sent is not None, "start_stream comes first"
        await write_within(self.request, self._sent, data, deadline)

    async def end(self, data: bytes, deadline: float) -> None:
        assert self._sent is not None, "start_stream comes first"
        self._ended = True
        await end_within(self.request, self._sent, data, deadline)

    async def finish(self) -> None:
        assert self._sent is not None, "start_stream comes first"
        self._ended = True
        await self._sent.write_eof()

    def answered(self) -> bool | None:
        return True if self._ended else None if self._sent is not None else False
