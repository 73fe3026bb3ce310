"""The warm server: one process that runs `validate`, `render` and `cmp generate` for the commands
that ask it (`LLMOPS_SERVER`), so they pay neither the interpreter's start-up and imports nor the
page faults of a fresh heap on every call. Argo CD calls the plugin's generate step on every
refresh of every Application; with the server, a one-file change of 1,000 endpoints x 3 costs
what its checks and render cost, not what starting over costs.

A request runs as the command would in its own process: with the client's standard input, output
and error (passed as descriptors), arguments, working directory, umask and environment. One at a
time: a request waits for the one before. The server declines (and ends) when any module it has
loaded changed on disk, or when the client is another installation: the command then runs in its
own process, and the next one starts a new server. It ends when idle for ``$LLMOPS_SERVER_IDLE``
seconds (default 900), on SIGTERM or SIGINT, or after `MAX_REQUESTS`.

Run as ``python -m llmops.cli.warm_server SOCKET`` (the client starts it).
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import importlib
import io
import os
import signal
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from llmops.warm import wire
from llmops.warm.identity import installation, loaded_code
from llmops.warm.memo import KeptSources, keep_sources

# what `validate`, `render` and `cmp generate` import
SERVED_MODULES = (
    "llmops.cli.main",
    "llmops.cli.validate",
    "llmops.cli.render",
    "llmops.cli.cmp",
    "compiler.pipeline",
    "compiler.build",
    "compiler.render.estate",
)
DEFAULT_IDLE_SECONDS = 900
MAX_REQUESTS = 10_000  # then a fresh process: a long-lived heap fragments
REQUEST_READ_SECONDS = 10.0
_SERVED = "served"  # what `_handle` returns for a command it ran


class _Stop(BaseException):
    """SIGTERM or SIGINT: stop between requests."""


def serve(path: Path, idle_seconds: float) -> int:
    """Serve on ``path`` until idle, stale or stopped. Returns the process's exit code: 0, or 1
    when another server holds the socket or it cannot be made. What it did is written to
    ``<path>.log`` (started, what it declined, why it ended)."""
    try:
        wire.private_folder(str(path.parent))
        lock = open(f"{path}.lock", "a+")  # noqa: SIM115 - held for the process's life
    except (wire.WireError, OSError) as error:
        print(f"llmops server: {error}", file=sys.stderr)
        return 1
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        return 1  # another server is starting or serving
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    log = _Log(Path(f"{path}.log"))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        old_umask = os.umask(0o177)
        try:
            listener.bind(str(path))
        finally:
            os.umask(old_umask)
        listener.listen(16)
    except OSError as error:
        log.write(f"cannot listen on {path}: {error.strerror or error}")
        listener.close()
        lock.close()
        return 1
    listener.settimeout(idle_seconds)
    log.write(f"started: process {os.getpid()}, {sys.executable}")
    ending = "stopped"
    served = 0
    try:
        _stop_on_signals()
        kept = _prepare()
        code = loaded_code()
        home = installation()
        ending = f"served {MAX_REQUESTS} commands"
        while served < MAX_REQUESTS:
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                ending = f"idle for {idle_seconds:g} s"
                break
            with connection:
                stale = code.changed()
                outcome = _handle(connection, home, stale)
            if outcome is not _SERVED:
                if outcome is not None:
                    log.write(f"declined: {outcome}")
                if stale is not None:
                    ending = "its code changed on disk"
                    break
                continue
            served += 1
            kept.command_done()
            _settle()
            code = code.with_new_modules()
    except _Stop:
        ending = "stopped by a signal"
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # before the lock goes: a new server may bind the same path then
        listener.close()
        log.write(f"ended after {served} commands: {ending}")
        lock.close()
    return 0


class _Log:
    """A few lines about the server's life, beside its socket (written anew by each server)."""

    MAX_LINES = 200

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines = 0
        with contextlib.suppress(OSError):
            path.write_text("")
            path.chmod(0o600)

    def write(self, line: str) -> None:
        if self.lines >= self.MAX_LINES:
            return
        self.lines += 1
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with contextlib.suppress(OSError), open(self.path, "a", encoding="utf-8") as file:
            file.write(f"{stamp} {line}\n")


def _stop_on_signals() -> None:
    def stop(_signal: int, _frame: object) -> None:
        raise _Stop

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def _prepare() -> KeptSources:
    """Import what the served commands import, so the first request finds them loaded, and start
    keeping the manifest files commands read."""
    for name in SERVED_MODULES:
        importlib.import_module(name)
    kept = keep_sources()
    _settle()
    return kept


def _settle() -> None:
    """Free what the last request left in cycles (an estate's environments refer to each other),
    then leave everything alive out of later passes: the next collection walks only what the next
    request makes. Run after the answer, so no command waits for it but the next in line."""
    gc.collect()
    gc.freeze()
    gc.enable()


def _handle(connection: socket.socket, home: dict[str, str], stale: str | None) -> str | None:
    """Serve one request: `_SERVED`, why it was declined (the client then runs the command itself;
    when this server is stale, it also starts a new one), or None for a connection from another
    user (dropped unanswered) or a request that breaks the protocol (declined, not logged)."""
    if not wire.peer_is_self(connection):
        return None
    connection.settimeout(REQUEST_READ_SECONDS)
    try:
        body, descriptors = wire.receive_request(connection)
    except wire.WireError as error:
        with contextlib.suppress(OSError):
            wire.send_answer(connection, {"declined": str(error)})
        return None
    gc.disable()  # as in a process of its own: paused while the command runs (`_settle` after)
    try:
        declined = stale or _mismatch(body, home)
        if declined is not None:
            with contextlib.suppress(OSError):
                wire.send_answer(connection, {"declined": declined, "stale": stale is not None})
            return declined
        code = _run(body, descriptors)
    finally:
        for descriptor in descriptors:
            os.close(descriptor)
    connection.settimeout(None)
    with contextlib.suppress(OSError):
        wire.send_answer(connection, {"code": code})
    return _SERVED


def _mismatch(body: dict[str, Any], home: dict[str, str]) -> str | None:
    if body.get("protocol") != wire.PROTOCOL:
        return "another protocol"
    if body.get("installation") != home:
        return "another installation of llmops"
    arguments = body.get("argv")
    if not isinstance(arguments, list) or not all(isinstance(a, str) for a in arguments):
        return "arguments that are not a list of strings"
    environment = body.get("environ")
    if not isinstance(environment, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in environment.items()
    ):
        return "an environment that is not strings by name"
    umask, directory = body.get("umask"), body.get("cwd")
    if not isinstance(umask, int) or not isinstance(directory, str):
        return "no umask or working directory"
    if not os.path.isdir(directory):
        return f"the working directory {directory!r} is gone"
    return None


def _run(body: dict[str, Any], descriptors: list[int]) -> int:
    """Run the command as its own process would, on the client's descriptors."""
    from llmops.cli import exit_codes
    from llmops.cli.main import main, output_written

    try:
        with _as_client(body, descriptors):
            try:
                return output_written(main(body["argv"]))
            except SystemExit as stop:  # as a process exits with it
                code = stop.code
                return code if isinstance(code, int) else (0 if code is None else 1)
            except Exception:  # `--debug` lets an internal error out: its traceback, as a process
                import traceback

                traceback.print_exc()
                return exit_codes.BUG
    except OSError as error:  # the working directory went between the check and the command
        with contextlib.suppress(OSError):
            os.write(descriptors[2], f"llmops: error: {error}\n".encode(errors="replace"))
        return exit_codes.USAGE


@contextlib.contextmanager
def _as_client(body: dict[str, Any], descriptors: list[int]) -> Iterator[None]:
    """The client's standard streams on descriptors 0-2 (with fresh text layers over them), its
    working directory, umask and environment; the server's own restored afterwards."""
    saved = [os.dup(descriptor) for descriptor in (0, 1, 2)]
    streams = (sys.stdin, sys.stdout, sys.stderr)
    environment = dict(os.environ)
    directory = os.getcwd()
    umask = os.umask(int(body["umask"]) & 0o777)
    try:
        for target, descriptor in enumerate(descriptors):
            os.dup2(descriptor, target)
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
        sys.stdout = _standard_output()
        sys.stderr = io.TextIOWrapper(
            io.FileIO(2, "w", closefd=False),
            encoding="utf-8",
            errors="backslashreplace",
            line_buffering=True,
        )
        os.environ.clear()
        os.environ.update(body["environ"])
        os.chdir(body["cwd"])
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        sys.stdin, sys.stdout, sys.stderr = streams
        os.environ.clear()
        os.environ.update(environment)
        os.umask(umask)
        with contextlib.suppress(OSError):
            os.chdir(directory)
        for target, descriptor in enumerate(saved):
            os.dup2(descriptor, target)
            os.close(descriptor)


def _standard_output() -> io.TextIOWrapper:
    """The client's standard output as its own process would have it under `llmops.cli.main`:
    every byte taken, line-buffered on a terminal."""
    from llmops.stream_output import WholeWrites

    raw = WholeWrites(1, "<stdout>")
    return io.TextIOWrapper(
        io.BufferedWriter(raw, 8192), encoding="utf-8", line_buffering=raw.isatty()
    )


def main(arguments: list[str]) -> int:
    if len(arguments) != 1 or wire.socket_path(arguments[0]) is None:
        print("usage: python -m llmops.cli.warm_server ABSOLUTE-SOCKET-PATH", file=sys.stderr)
        return 2
    idle = os.environ.get(wire.IDLE_VARIABLE, "")
    try:
        idle_seconds = float(idle) if idle else DEFAULT_IDLE_SECONDS
    except ValueError:
        idle_seconds = DEFAULT_IDLE_SECONDS
    path = wire.socket_path(arguments[0])
    assert path is not None
    return serve(Path(path), max(idle_seconds, 1.0))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
