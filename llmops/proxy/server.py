"""Serving the proxy: in the foreground until SIGINT/SIGTERM (`llmops proxy`, in one process or in
several worker processes sharing the port: `serve_workers`), or in a background thread for tests and
scripts (`running_proxy`). uvloop runs the event loop when it is installed (the
`proxy` extra installs it where it builds): it took a third off the proxy's added latency in
measurements."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, NoReturn

from aiohttp import web

from compiler.collector import serving_settled
from llmops.proxy.allocator import pin_mmap_threshold
from llmops.proxy.app import build_app
from llmops.proxy.config import ProxyConfig
from llmops.proxy.connections import GuardedSite
from llmops.proxy.front import Front
from llmops.proxy.heartbeat import BEAT_SECONDS, Heartbeats
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
# how long every worker together gets to build its application and listen
WORKERS_START_SECONDS = 60.0
# how often the waiting process looks for ended workers and silent heartbeats
_WATCH_SECONDS = 0.25
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
    heartbeat: Callable[[], None] | None = None,
    beat_seconds: float = BEAT_SECONDS,
) -> None:
    """Serve until SIGINT or SIGTERM, then let requests in flight finish (up to SHUTDOWN_SECONDS).
    ``heartbeat`` is called by the event loop every ``beat_seconds`` while it serves (a worker's).

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
        if heartbeat is not None:
            _beat_every(loop, heartbeat, beat_seconds)
        announce(url)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    _run(main())


def _beat_every(
    loop: asyncio.AbstractEventLoop, heartbeat: Callable[[], None], seconds: float
) -> None:
    """``heartbeat()`` now and every ``seconds`` after, for as long as ``loop`` runs callbacks:
    when it stops calling, the loop is stuck."""

    def beat() -> None:
        heartbeat()
        loop.call_later(seconds, beat)

    beat()


class WorkersNotStarted(RuntimeError):
    """The system refused a worker process; the ones already started were stopped."""


def serve_workers(
    build: Callable[[], web.Application],
    host: str,
    port: int,
    workers: int,
    announce: Callable[[str], None] = print,
    *,
    worker_timeout: float,
) -> int:
    """Serve in ``workers`` processes, each with its own application (``build()``, called in the
    worker: its own event loop, limits, budgets and metrics values) and its own socket on host:port
    (SO_REUSEPORT: the kernel spreads new connections among them). This process only waits: SIGINT
    or SIGTERM is passed on to every worker, which lets its requests finish; a worker that dies, or
    whose event loop has not run for ``worker_timeout`` seconds (then it is killed), stops the
    others, so the pod is restarted whole rather than serving on with fewer workers.
    The workers' metrics share a temporary directory, removed when they have stopped; this process
    gets its signal handlers back and its environment and prometheus_client untouched (it may be a
    test or a script that runs more after). **Returns:** 0 after a signal, 1 when a worker died,
    hung, or did not start within `WORKERS_START_SECONDS`.
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
    heartbeats = Heartbeats(workers)
    try:
        return _Workers(build, host, port, metrics_dir, heartbeats, worker_timeout).run(announce)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        heartbeats.close()
        shutil.rmtree(metrics_dir, ignore_errors=True)


class _Workers:
    """The waiting process: starts the workers, passes signals on, watches them until all ended."""

    def __init__(
        self,
        build: Callable[[], web.Application],
        host: str,
        port: int,
        metrics_dir: str,
        heartbeats: Heartbeats,
        timeout: float,
    ) -> None:
        self.build, self.host, self.port = build, host, port
        self.metrics_dir = metrics_dir
        self.heartbeats = heartbeats
        self.timeout = timeout
        self.children: list[int] = []  # by worker index, as their heartbeat slots
        self.remaining: set[int] = set()
        self.stopping = False
        self.signalled = False
        self.failed = False

    def stop(self, _signum: int = signal.SIGTERM, _frame: object = None) -> None:
        if not self.stopping:
            signal.setitimer(signal.ITIMER_REAL, KILL_AFTER_SECONDS)
        self.stopping = True
        for child in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    def signalled_stop(self, signum: int, frame: object) -> None:
        self.signalled = True
        self.stop(signum, frame)

    def kill_the_rest(self, _signum: int, _frame: object) -> None:
        for child in self.remaining:
            _log.error("worker %d did not stop within %g s: killed", child, KILL_AFTER_SECONDS)
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)

    def run(self, announce: Callable[[str], None]) -> int:
        # before the first fork: a signal while workers start stops those started
        for signum in _STOP_SIGNALS:
            signal.signal(signum, self.signalled_stop)
        signal.signal(signal.SIGALRM, self.kill_the_rest)
        self._start()
        if not self.failed and not self.signalled:
            announce(base_url(self.host, self.port))
        self._watch()
        return 1 if self.failed else 0

    def _start(self) -> None:
        workers = self.heartbeats.workers
        parent = os.getpid()
        listening, ready = os.pipe()  # each worker writes a byte once it listens
        try:
            for index in range(workers):
                pid = os.fork()
                if pid == 0:  # the worker
                    beat = functools.partial(self.heartbeats.beat, index)
                    # four beats a timeout at least: one late beat is no silence
                    every = min(BEAT_SECONDS, self.timeout / 4)
                    _worker(
                        self.build,
                        self.host,
                        self.port,
                        self.metrics_dir,
                        listening,
                        ready,
                        parent,
                        beat,
                        every,
                    )
                self.children.append(pid)
                self.remaining.add(pid)
        except OSError as error:  # no more processes: stop those started, leave none behind
            os.close(ready)
            os.close(listening)
            self.stop()
            for child in self.children:
                os.waitpid(child, 0)
            raise WorkersNotStarted(
                f"cannot start {workers} workers (started {len(self.children)}): "
                f"{error.strerror or error}"
            ) from None
        os.close(ready)
        deadline = time.monotonic() + WORKERS_START_SECONDS
        try:
            told = _read_until(listening, workers, deadline)
        finally:
            os.close(listening)
        if told < workers and not self.signalled:  # one died before listening, or hangs starting
            self.failed = True
            if time.monotonic() >= deadline:
                _log.error(
                    "%d of %d workers did not start within %g s: stopping them",
                    workers - told,
                    workers,
                    WORKERS_START_SECONDS,
                )
            self.stop()

    def _watch(self) -> None:
        """Until every worker ended: reap the ended ones (one ending while serving stops the
        others), and kill a worker whose heartbeat stopped."""
        killed: set[int] = set()
        while self.remaining:
            if self._reap_one():
                continue
            if not self.stopping:
                for index in self.heartbeats.silent(self.timeout):
                    pid = self.children[index]
                    if pid in self.remaining and pid not in killed:
                        killed.add(pid)
                        _log.error(
                            "worker %d has not run its event loop for %g s (hung, or stopped): "
                            "killed",
                            pid,
                            self.timeout,
                        )
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
            time.sleep(_WATCH_SECONDS)

    def _reap_one(self) -> bool:
        """Reap one ended worker, if one has ended."""
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            return False
        self.remaining.discard(pid)
        if not self.stopping:  # a worker ended by itself, or by a signal sent to it alone
            self.failed = True
            _log.error(
                "worker %d ended (%s) while serving: stopping the others", pid, _ending(status)
            )
            self.stop()
        return True


def _read_until(descriptor: int, count: int, deadline: float) -> int:
    """Read up to ``count`` bytes from a pipe until they came, every writer closed it, or
    ``deadline`` (`time.monotonic()`) passed. **Returns:** how many bytes came."""
    got = 0
    while got < count:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        readable, _, _ = select.select([descriptor], [], [], left)
        if not readable:
            continue
        chunk = os.read(descriptor, count - got)
        if not chunk:
            break
        got += len(chunk)
    return got


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
    heartbeat: Callable[[], None],
    beat_seconds: float,
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
        serve(
            build(),
            host,
            port,
            lambda _url: _tell(ready),
            reuse_port=True,
            heartbeat=heartbeat,
            beat_seconds=beat_seconds,
        )
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
    """Tell the waiting process this worker listens. It may have stopped waiting (a fork that
    failed, start-up past its deadline): then it is stopping the workers, and the closed pipe is
    no error of this worker's to log."""
    with contextlib.suppress(BrokenPipeError):
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
