"""Serving the proxy: in the foreground until SIGINT/SIGTERM (`llmops proxy`, in one process or in
several worker processes sharing the port: `serve_workers`), or in a background thread for tests and
scripts (`running_proxy`). uvloop runs the event loop when it is installed (the
`proxy` extra installs it where it builds): it took a third off the proxy's added latency in
measurements."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, NoReturn

from aiohttp import web

from compiler.collector import serving_settled
from llmops.proxy.allocator import pin_mmap_threshold
from llmops.proxy.app import build_app
from llmops.proxy.config import ProxyConfig
from llmops.proxy.connections import GuardedSite
from llmops.proxy.front import Front
from llmops.proxy.metrics import share_with_workers
from llmops.proxy.options import ProxyOptions
from llmops.proxy.state import STATE

if TYPE_CHECKING:
    from llmops.console.pages import Console

# in-flight requests get this long to finish on SIGTERM (Kubernetes waits 30 s)
SHUTDOWN_SECONDS = 10.0
START_SECONDS = 30.0

# what stops the workers: SIGHUP too (a closed terminal), whose default would end this process alone
# and leave its workers serving
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# after the workers were told to stop: how long they get before SIGKILL (one that is stopped or
# hung never ends otherwise, nor would this process)
KILL_AFTER_SECONDS = SHUTDOWN_SECONDS + 5.0
_log = logging.getLogger("llmops.proxy")


async def start(
    app: web.Application, host: str, port: int, reuse_port: bool = False
) -> tuple[web.AppRunner, str]:
    """Listen on host:port (0: a free port; ``reuse_port``: beside other processes listening there
    with SO_REUSEPORT, the kernel spreading new connections among them). **Returns:** the runner
    (``await runner.cleanup()`` stops it) and the base URL actually bound."""
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
    site = GuardedSite(
        runner,
        host,
        port,
        state.connections,
        reuse_port=reuse_port,
        front=lambda handover: Front(state, handover),
        shutdown_timeout=SHUTDOWN_SECONDS,
    )
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_host, bound_port = runner.addresses[0][:2]
    return runner, base_url(bound_host, bound_port)


def base_url(host: str, port: int) -> str:
    """``http://host:port``; an IPv6 address in brackets, as URLs write it (``http://[::1]:80``)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _run(main: Coroutine[Any, Any, None]) -> None:
    pin_mmap_threshold()  # a serving process only: not a test's or a script's (running_proxy)
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def serve(
    app: web.Application,
    host: str,
    port: int,
    announce: Callable[[str], None] = print,
    reuse_port: bool = False,
) -> None:
    """Serve until SIGINT or SIGTERM, then let requests in flight finish (up to SHUTDOWN_SECONDS).

    **Raises:** ``OSError`` when the address cannot be bound (in use, not local).
    """

    async def main() -> None:
        runner, url = await start(app, host, port, reuse_port)
        # what serving needs (modules, configuration, application) lives as long as the process:
        # under load a full collection walked all of it, every request in flight stopped for 18 ms
        # (the configuration is never replaced in a running proxy: a new one rolls the pods)
        serving_settled()
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


class WorkersNotStarted(RuntimeError):
    """The system refused a worker process; the ones already started were stopped."""


def serve_workers(
    build: Callable[[], web.Application],
    host: str,
    port: int,
    workers: int,
    announce: Callable[[str], None] = print,
) -> int:
    """Serve in ``workers`` processes, each with its own application (``build()``, called in the
    worker: its own event loop, limits, budgets and metrics values) and its own socket on host:port
    (SO_REUSEPORT: the kernel spreads new connections among them). This process only waits: SIGINT
    or SIGTERM is passed on to every worker, which lets its requests finish; a worker that dies
    stops the others, so the pod is restarted whole rather than serving on with fewer workers.
    The workers' metrics share a temporary directory, removed when they have stopped; this process
    gets its signal handlers back and its environment and prometheus_client untouched (it may be a
    test or a script that runs more after). **Returns:** 0 after a signal, 1 when a worker died.
    **Raises:** ``OSError`` when the address cannot be bound (checked here, before any worker
    starts); ``WorkersNotStarted`` when a process cannot be created."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # Without SO_REUSEPORT: any socket bound there makes this "in use", one with the option too
        # (another llmops with workers, or any program that set it), which the workers' sockets
        # would otherwise silently share the port and its connections with.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed one's TIME_WAIT
        probe.bind((host, port))
    metrics_dir = tempfile.mkdtemp(prefix="llmops-proxy-metrics-")
    handlers = {signum: signal.getsignal(signum) for signum in (*_STOP_SIGNALS, signal.SIGALRM)}
    try:
        return _fork_and_wait(build, host, port, workers, announce, metrics_dir)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _fork_and_wait(
    build: Callable[[], web.Application],
    host: str,
    port: int,
    workers: int,
    announce: Callable[[str], None],
    metrics_dir: str,
) -> int:
    children: list[int] = []
    stopping = False
    signalled = False
    remaining: set[int] = set()

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        if not stopping:
            signal.setitimer(signal.ITIMER_REAL, KILL_AFTER_SECONDS)
        stopping = True
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    def signalled_stop(signum: int, frame: object) -> None:
        nonlocal signalled
        signalled = True
        stop(signum, frame)

    def kill_the_rest(_signum: int, _frame: object) -> None:
        for child in remaining:
            _log.error("worker %d did not stop within %g s: killed", child, KILL_AFTER_SECONDS)
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)

    # before the first fork: a signal while workers start stops those started
    for signum in _STOP_SIGNALS:
        signal.signal(signum, signalled_stop)
    signal.signal(signal.SIGALRM, kill_the_rest)
    parent = os.getpid()
    listening, ready = os.pipe()  # each worker writes a byte once it listens
    try:
        for _ in range(workers):
            pid = os.fork()
            if pid == 0:  # the worker
                _worker(build, host, port, metrics_dir, listening, ready, parent)
            children.append(pid)
            remaining.add(pid)
    except OSError as error:  # no more processes: stop those started, leave none behind
        os.close(ready)
        os.close(listening)
        stop(signal.SIGTERM, None)
        for child in children:
            os.waitpid(child, 0)
        raise WorkersNotStarted(
            f"cannot start {workers} workers (started {len(children)}): {error.strerror or error}"
        ) from None
    os.close(ready)
    with os.fdopen(listening, "rb") as started:  # ends early when a worker died before listening
        failed = len(started.read(workers)) < workers and not signalled
    if failed:
        stop(signal.SIGTERM, None)
    elif not signalled:
        announce(base_url(host, port))
    while remaining:
        pid, status = os.wait()
        remaining.discard(pid)
        if not stopping:  # a worker ended by itself, or by a signal sent to it alone
            failed = True
            _log.error(
                "worker %d ended (%s) while serving: stopping the others",
                pid,
                _ending(status),
            )
            stop(signal.SIGTERM, None)
    return 1 if failed else 0


def _ending(status: int) -> str:
    """How a process ended, in words: `exit code 1`, `signal SIGKILL`."""
    code = os.waitstatus_to_exitcode(status)
    if code >= 0:
        return f"exit code {code}"
    try:
        return f"signal {signal.Signals(-code).name}"
    except ValueError:
        return f"signal {-code}"


def _worker(
    build: Callable[[], web.Application],
    host: str,
    port: int,
    metrics_dir: str,
    listening: int,
    ready: int,
    parent: int,
) -> NoReturn:
    """One worker's life, in the forked process: it never returns to the caller's code."""
    code = 0
    try:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # serve() handles them once it listens
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        # a closed terminal's SIGHUP reaches the whole group: the parent stops the workers gently
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        _stop_with(parent)
        os.close(listening)
        share_with_workers(metrics_dir)
        serve(build(), host, port, lambda _url: _tell(ready), reuse_port=True)
    except BaseException as error:  # the parent stops the others
        _log.error("worker %d stopped: %s: %s", os.getpid(), type(error).__name__, error)
        code = 1
    finally:
        os._exit(code)


def _stop_with(parent: int) -> None:
    """SIGTERM this worker when the process that started it ends, however it ends (`kill -9`): on
    Linux, where the kernel offers it; a worker left behind would serve on, unseen, and share the
    port with the next proxy started there."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    set_parent_death_signal = 1  # PR_SET_PDEATHSIG, <linux/prctl.h>
    ctypes.CDLL(None, use_errno=True).prctl(set_parent_death_signal, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # it ended before the request was made
        os._exit(1)


def _tell(ready: int) -> None:
    os.write(ready, b"+")
    os.close(ready)


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
