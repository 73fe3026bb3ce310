"""Client connections: a cap, a header-read timeout, and the envelope for requests the HTTP parser
refuses.

aiohttp's server has a keep-alive timeout (the runner's ``keepalive_timeout``: an idle connection is
closed) but no limit on connections and no bound on how long a request's head may take to arrive.
With the open-file limit at 1,024, about a thousand idle or half-sent connections used every
descriptor and the proxy could not accept its own health probe. So every connection is a
``GuardedRequestHandler`` (or first the proxy's own server for plain inference requests,
llmops/proxy/front.py, which the same guard counts and which hands the connection over to a
``GuardedRequestHandler`` for any other request):

- at most ``connection_cap()`` connections are open; at the cap a new one closes the connection idle
  the longest (keep-alive clients reconnect), and when every connection is busy it gets a 503 and is
  closed;
- a request head must be complete ``header_timeout`` after its first byte, or the connection gets a
  408 and is closed (the body's own wait is bounded in the request handler);
- what the HTTP parser refuses (a header too long, a bad chunk size, Content-Length with
  Transfer-Encoding, a bare LF, ...) is answered in the envelope with OpenAI's `error` object (the
  path is unknown at that point, so the answer carries both shapes), logged as one debug line. When
  the parser refuses the body of a request being served (a bad chunk size half-way), the handler's
  read fails at once, rather than waiting for body bytes the parser will never deliver;
- an `Expect` other than `100-continue` gets a 417 in the same shapes (aiohttp answers plain text
  before any middleware runs).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any, Protocol

from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler, RequestPayloadError, _ErrInfo
from aiohttp.web_server import Server

from llmops.proxy import envelope
from llmops.proxy.delivery import WRITE_BUFFER_BYTES
from llmops.proxy.guard import (
    ConnectionGuard as ConnectionGuard,  # where the server and tests have found it
)
from llmops.proxy.guard import both_shapes, refuse_when_full, writable

log = logging.getLogger("llmops.proxy")


class GuardedRequestHandler(RequestHandler):
    """aiohttp's protocol for one connection, reporting to the guard, and answering what the HTTP
    parser refuses in the envelope (aiohttp answers plain text and logs a traceback)."""

    __slots__ = ("_admitted", "_adopted", "_body", "_guard", "_route")

    def __init__(
        self, manager: Server, guard: ConnectionGuard, adopted: bool = False, **kwargs: Any
    ):
        """``adopted``: a connection the guard admitted already, handed over by the proxy's own
        server (llmops/proxy/front.py)."""
        super().__init__(manager, **kwargs)
        self._guard = guard
        self._adopted = adopted
        self._admitted = False
        # the body of the request being served, while it is
        self._body: StreamReader | None = None
        self._route: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]] = (
            manager.request_handler
        )
        self._request_handler = self._serve

    async def _serve(self, request: web.BaseRequest) -> web.StreamResponse:
        expect = request.headers.get("Expect")
        if expect is not None and expect.strip().lower() != "100-continue":
            shown = expect.encode("ascii", "backslashreplace").decode()[:100]
            response = web.Response(
                status=417,
                body=both_shapes(
                    417, f"the proxy only understands Expect: 100-continue, not {shown!r}"
                ),
                content_type=envelope.JSON,
            )
            response.force_close()  # the body, if any, stays unread
            return response
        self._body = request.content
        try:
            return await self._route(request)
        finally:
            self._body = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._adopted and not self._guard.admit(self, transport):
            refuse_when_full(transport, self._guard.cap)
            return
        self._admitted = True
        writer = writable(transport)
        if writer is not None:
            # a write waits for the caller beyond this, within write_timeout (delivery.py)
            writer.set_write_buffer_limits(high=WRITE_BUFFER_BYTES)
        super().connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self._admitted:
            return
        self._guard.received(self, self._loop.time())
        queued = len(self._messages)
        super().data_received(data)
        body = self._body
        if body is None or body.is_eof() or body.exception() is not None:
            return
        refusal = next(
            (
                message
                for message, _ in itertools.islice(self._messages, queued, None)
                if isinstance(message, _ErrInfo)
            ),
            None,
        )
        if refusal is not None:  # in the body being read: nothing more of it will arrive
            body.set_exception(RequestPayloadError(refusal.message))

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._admitted:
            self._guard.closed(self)
            super().connection_lost(exc)

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        # part of an answer is out: the connection cannot carry another
        if request.writer.output_size > 0:
            raise ConnectionError("an answer was already being sent")
        if status >= 500:
            log.error(
                "internal error serving %s %s: %s", request.method, request.path, type(exc).__name__
            )
            text = "internal error in the llmops proxy (see its log)"
        else:
            reason = (
                (message or (str(exc) if exc else "") or HTTPStatus(status).phrase)
                .strip()
                .splitlines()[0]
            )
            log.debug("refused a request that is not valid HTTP: %s", reason)
            text = f"the request is not valid HTTP: {reason[:200]}"
        response = envelope.failure(status, text, openai=True)
        response.force_close()
        return response


class Front(Protocol):
    """A server in front of aiohttp's for some requests (llmops/proxy/front.py): each new
    connection starts with it, and it hands connections over to aiohttp's handler."""

    def __call__(self) -> asyncio.Protocol: ...

    async def shutdown(self, timeout: float) -> None: ...


class GuardedSite(web.BaseSite):
    """A TCP site whose connections pass through a ``ConnectionGuard``; with ``front`` (made
    from the way to create aiohttp's handler for a connection), every connection starts with
    that server instead, until it hands the connection over. ``shutdown_timeout``: how long
    requests in flight may take to finish when the site stops."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        guard: ConnectionGuard,
        backlog: int = 128,
        reuse_port: bool = False,
        front: Callable[[Callable[[], GuardedRequestHandler]], Front] | None = None,
        shutdown_timeout: float = 10.0,
    ):
        super().__init__(runner, backlog=backlog)
        self._host, self._port, self._guard = host, port, guard
        self._reuse_port = reuse_port
        self._bound: tuple[str, int] | None = None
        self._make_front = front
        self._front: Front | None = None
        self._shutdown_timeout = shutdown_timeout

    @property
    def name(self) -> str:
        host, port = self._bound or (self._host, self._port)
        return f"http://{host}:{port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None, "the runner is set up before its sites start"
        loop = asyncio.get_running_loop()
        # the keyword arguments the runner was given (keepalive_timeout, access_log, ...), as
        # aiohttp's own Server.__call__ passes them
        options = dict(server._kwargs)

        def protocol() -> GuardedRequestHandler:
            return GuardedRequestHandler(server, self._guard, loop=loop, **options)

        def adopting() -> GuardedRequestHandler:
            return GuardedRequestHandler(server, self._guard, adopted=True, loop=loop, **options)

        first: Callable[[], asyncio.Protocol] = protocol
        if self._make_front is not None:
            self._front = self._make_front(adopting)
            first = self._front
        self._server = await loop.create_server(
            first,
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=True,
            reuse_port=self._reuse_port or None,
        )
        self._bound = self._server.sockets[0].getsockname()[:2]
        self._guard.start()

    async def stop(self) -> None:
        await self._guard.stop()
        await super().stop()  # no new connections
        server = self._runner.server
        if self._front is None or server is None:
            return
        # The front's connections and aiohttp's finish their requests in the same time (the runner
        # then finds aiohttp's closed already).
        await asyncio.sleep(0)
        server.pre_shutdown()
        await asyncio.gather(
            self._front.shutdown(self._shutdown_timeout), server.shutdown(self._shutdown_timeout)
        )
