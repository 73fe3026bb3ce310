"""Serving the proxy: in the foreground until SIGINT/SIGTERM (`llmops proxy`), or in a background
thread for tests and scripts (`running_proxy`). uvloop runs the event loop when it is installed (the
`proxy` extra installs it where it builds): it took a third off the proxy's added latency in
measurements."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any

from aiohttp import web

from llmops.proxy.app import build_app
from llmops.proxy.config import ProxyConfig
from llmops.proxy.connections import GuardedSite
from llmops.proxy.options import ProxyOptions
from llmops.proxy.state import STATE

if TYPE_CHECKING:
    from llmops.console.pages import Console

# in-flight requests get this long to finish on SIGTERM (Kubernetes waits 30 s)
SHUTDOWN_SECONDS = 10.0
START_SECONDS = 30.0


async def start(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, str]:
    """Listen on host:port (0: a free port). **Returns:** the runner (``await runner.cleanup()``
    stops it) and the base URL actually bound."""
    # handler_cancellation: a client that disconnects cancels its handler, and with it the upstream
    # call.
    state = app[STATE]
    runner = web.AppRunner(
        app,
        handler_cancellation=True,
        access_log=None,
        shutdown_timeout=SHUTDOWN_SECONDS,
        keepalive_timeout=state.options.keepalive_timeout,
        # a body the handler left unread (or could not read) is not drained for up to 10 s: the
        # connection is closed after the answer instead
        lingering_time=0,
    )
    await runner.setup()
    site = GuardedSite(runner, host, port, state.connections)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_host, bound_port = runner.addresses[0][:2]
    return runner, f"http://{bound_host}:{bound_port}"


def _run(main: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def serve(
    app: web.Application, host: str, port: int, announce: Callable[[str], None] = print
) -> None:
    """Serve until SIGINT or SIGTERM, then let requests in flight finish (up to SHUTDOWN_SECONDS).

    **Raises:** ``OSError`` when the address cannot be bound (in use, not local).
    """

    async def main() -> None:
        runner, url = await start(app, host, port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        announce(url)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    _run(main())


@contextlib.contextmanager
def running_proxy(
    config: ProxyConfig,
    options: ProxyOptions | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    console: Console | None = None,
) -> Iterator[str]:
    """Serve ``config`` in a background thread while the block runs; yields the base URL.

    ``with running_proxy(config_from_estate(".", "dev")) as url: ...``
    """
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    outcome: dict[str, Any] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            runner, url = loop.run_until_complete(
                start(build_app(config, options, console), host, port)
            )
        except BaseException as error:  # reported in the caller's thread
            outcome["error"] = error
            ready.set()
            loop.close()
            return
        outcome["url"] = url
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, name="llmops-proxy", daemon=True)
    thread.start()
    if not ready.wait(START_SECONDS):
        raise TimeoutError(f"the proxy did not start within {START_SECONDS:g} s")
    if "error" in outcome:
        thread.join()
        raise outcome["error"]
    try:
        yield outcome["url"]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
