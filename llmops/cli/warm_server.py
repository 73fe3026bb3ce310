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
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from compiler.resolve.environment import release_environments
from llmops.warm import wire
from llmops.warm.identity import (
    context_difference,
    installation,
    loaded_code,
    process_context,
)
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
MAX_REQUESTS = 10_000  # then a fresh process: a long-lived heap fragments
# A client sends its whole request at once: one that has not within this (all of it, not per read)
# is dropped, so a connection that never sends holds the commands behind it this long at most.
REQUEST_SECONDS = 2.0
MAX_LOG_BYTES = 64 << 10
# how often an idle server checks that its socket is still there
SOCKET_CHECK_SECONDS = 5.0
_SERVED = "served"  # what `_handle` returns for a command it ran


class _Stop(BaseException):
    """SIGTERM or SIGINT to the server while it waits for a command: end now."""


class _ClientGone(BaseException):
    """The client went away (or was terminated) while its command ran: stop the command quietly."""


class _Command:
    """What the signal handlers need to know about the command running, if any."""

    running = False
    interrupted: str | None = None  # "interrupt" (Ctrl-C at the client) or "gone"
    stop_after = False  # SIGTERM or SIGINT came while a command ran: end after it


def serve(path: Path, idle_seconds: float) -> int:
    """Serve on ``path`` until idle, stale or stopped. Returns the process's exit code: 0, or 1
    when another server holds the socket or it cannot be made. What it did is added to
    ``<path>.log`` (started, what it declined, why it ended)."""
    try:
        wire.private_folder(str(path.parent))
        refused = wire.not_ours(str(path))
        if refused is not None:
            raise wire.WireError(refused)
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
    os.chmod(lock.fileno(), 0o600)
    log = _Log(Path(f"{path}.log"))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # a socket (`not_ours` said so) that no server holds: its lock was free
        old_umask = os.umask(0o177)
        try:
            listener.bind(str(path))
        finally:
            os.umask(old_umask)
        # said before it listens: whoever can connect finds it in the log
        log.write(f"started: process {os.getpid()}, {sys.executable}")
        listener.listen(16)
    except OSError as error:
        log.write(f"cannot listen on {path}: {error.strerror or error}")
        listener.close()
        lock.close()
        return 1
    bound = os.stat(path).st_ino
    ending = "an unexpected error"
    try:
        ending = _serve_commands(listener, log, idle_seconds, lambda: _socket_is(path, bound))
    except _Stop:
        ending = "stopped by a signal"
    finally:
        # said before the socket goes: whoever sees it gone (a command, a new server) finds why
        log.write(f"ended: {ending}", always=True)
        if _socket_is(path, bound):
            with contextlib.suppress(OSError):
                path.unlink()  # before the lock goes: a new server may bind the same path then
        listener.close()
    with contextlib.suppress(OSError):
        lock.truncate(0)  # no process id of a process that is gone (it may be another's soon)
    lock.close()
    return 0


def _socket_is(path: Path, inode: int) -> bool:
    """Whether ``path`` is still the socket this server bound (not removed, nor replaced)."""
    try:
        return os.stat(path).st_ino == inode
    except OSError:
        return False


def _serve_commands(
    listener: socket.socket, log: _Log, idle_seconds: float, reachable: Callable[[], bool]
) -> str:
    """Accept and serve commands; returns why it stopped. Every few seconds while idle it checks
    that its socket is still there: a server whose socket was removed can be found by no command,
    yet holds the lock, so every command started a server that ended at once."""
    _handle_signals()
    listener.settimeout(min(idle_seconds, SOCKET_CHECK_SECONDS))
    last_command = time.monotonic()
    kept = _prepare()
    code = loaded_code()
    home = installation()
    context = process_context()
    served = 0
    while served < MAX_REQUESTS:
        if _Command.stop_after:  # a signal whose `_Stop` was lost while the server started
            return f"stopped by a signal after {served} commands"
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            if not reachable():
                return f"its socket was removed, after {served} commands"
            if time.monotonic() - last_command >= idle_seconds:
                return f"idle for {idle_seconds:g} s after {served} commands"
            continue
        last_command = time.monotonic()
        with connection:
            stale = code.changed()
            try:
                outcome = _handle(connection, home, context, stale, log)
            except Exception as error:  # a request must never end the server
                log.write(f"internal error: {type(error).__name__}: {error}")
                outcome = None
        if outcome == _SERVED:
            served += 1
            release_environments()  # the command's estate, freed at once: no collection walks it
            kept.command_done()
            _settle()
            code = code.with_new_modules()
        if stale is not None and outcome != _SERVED:
            return f"its code changed on disk ({stale}) after {served} commands"
        if _Command.stop_after:
            return f"stopped by a signal after {served} commands"
    return f"served {served} commands"


class _Log:
    """A few lines about each server's life, beside its socket: added to, and cut to its last half
    when it grows beyond `MAX_LOG_BYTES`."""

    MAX_LINES = 200  # per server

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines = 0
        with contextlib.suppress(OSError):
            if path.stat().st_size > MAX_LOG_BYTES:
                kept = path.read_bytes()[-MAX_LOG_BYTES // 2 :]
                path.write_bytes(kept[kept.find(b"\n") + 1 :])

    def write(self, line: str, *, always: bool = False) -> None:
        if self.lines >= self.MAX_LINES and not always:
            return
        self.lines += 1
        if self.lines == self.MAX_LINES and not always:
            line = f"{line} (and no more lines until this server ends)"
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
        with contextlib.suppress(OSError):
            descriptor = os.open(self.path, flags, 0o600)
            with open(descriptor, "a", encoding="utf-8", errors="backslashreplace") as file:
                file.write(f"{stamp} {line}\n")


def _handle_signals() -> None:
    """SIGTERM and SIGINT end the server while it waits, and after the command it runs; SIGUSR1 is
    how the watcher of a connection (`_watch`) stops a command whose client was interrupted or went
    away."""

    def stop(_signal: int, _frame: object) -> None:
        # noted first: an exception a handler raises while Python runs a finalizer or a weakref's
        # callback (the collections of a server starting up) is only printed, and lost
        _Command.stop_after = True
        if not _Command.running:
            raise _Stop

    def interrupt(_signal: int, _frame: object) -> None:
        if not _Command.running:
            return  # the command ended before the signal was seen
        if _Command.interrupted == "interrupt":
            raise KeyboardInterrupt
        raise _ClientGone

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGUSR1, interrupt)


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


def _handle(
    connection: socket.socket,
    home: dict[str, str],
    context: dict[str, object],
    stale: str | None,
    log: _Log,
) -> str | None:
    """Serve one request: `_SERVED`, why it was declined (the client then runs the command itself;
    when this server is stale, it also starts a new one), or None for a connection from another
    user (dropped unanswered) or a request that breaks the protocol (declined, not logged). A
    decline is logged before it is answered: once the client has its answer, the log says why."""
    if not wire.peer_is_self(connection):
        return None
    try:
        body = wire.receive_request(connection, time.monotonic() + REQUEST_SECONDS)
    except wire.WireError as error:
        with contextlib.suppress(OSError):
            wire.send_answer(connection, {"declined": str(error)})
        return None
    declined = stale or _mismatch(body, home, context)
    if declined is not None:
        log.write(f"declined: {declined}")
        with contextlib.suppress(OSError):
            wire.send_answer(connection, {"declined": declined, "stale": stale is not None})
        return declined
    # The client commits to the server running its command only now (it may have given up
    # waiting, or been interrupted, and run it itself), and sends its standard streams with it.
    try:
        wire.send_answer(connection, {"ready": True})
        connection.settimeout(REQUEST_SECONDS)
        descriptors = wire.receive_go(connection)
        connection.settimeout(None)
    except OSError:
        return None
    if descriptors is None:
        return None
    gc.disable()  # as in a process of its own: paused while the command runs (`_settle` after)
    try:
        code = _run_watched(body, descriptors, connection)
    finally:
        for descriptor in descriptors:
            os.close(descriptor)
    with contextlib.suppress(OSError):
        wire.send_answer(connection, {"code": code})
    return _SERVED


def _run_watched(body: dict[str, Any], descriptors: list[int], connection: socket.socket) -> int:
    """`_run`, stopped when the client is interrupted (it sends `wire.INTERRUPT`: the command
    stops as on Ctrl-C, saying so) or goes away (it stops quietly)."""
    done_read, done_write = os.pipe()
    watcher = threading.Thread(
        target=_watch, args=(connection, done_read, threading.get_ident()), daemon=True
    )
    _Command.interrupted = None
    watcher.start()
    try:
        return _run(body, descriptors)
    finally:
        os.write(done_write, b"x")
        watcher.join()
        os.close(done_read)
        os.close(done_write)


def _watch(connection: socket.socket, done: int, main_thread: int) -> None:
    """Wait until the command is done, or the client says it was interrupted, or goes away; in the
    two last cases stop the command (SIGUSR1 to the main thread, see `_handle_signals`)."""
    poller = select.poll()
    poller.register(connection.fileno(), select.POLLIN | select.POLLHUP)
    poller.register(done, select.POLLIN)
    while True:
        ready = {descriptor for descriptor, _ in poller.poll()}
        if done in ready:
            return
        try:
            data = connection.recv(1)
        except OSError:
            data = b""
        _Command.interrupted = "interrupt" if data == wire.INTERRUPT else "gone"
        signal.pthread_kill(main_thread, signal.SIGUSR1)
        if data != wire.INTERRUPT:
            return


def _mismatch(body: dict[str, Any], home: dict[str, str], context: dict[str, object]) -> str | None:
    if body.get("protocol") != wire.PROTOCOL:
        return "another protocol"
    if body.get("installation") != home:
        return "another installation of llmops"
    different = context_difference(body.get("process"), context)
    if different is not None:
        return different
    arguments = body.get("argv")
    if not isinstance(arguments, list) or not all(isinstance(a, str) for a in arguments):
        return "arguments that are not a list of strings"
    environment = body.get("environ")
    if not isinstance(environment, dict) or not all(
        _variable(k, v) for k, v in environment.items()
    ):
        return "an environment that is not strings by name (a name with `=`, a NUL)"
    umask, directory = body.get("umask"), body.get("cwd")
    if not isinstance(umask, int) or not isinstance(directory, str):
        return "no umask or working directory"
    if not os.path.isdir(directory):
        return f"the working directory {directory!r} is gone"
    if any(
        _names_its_own_process(path)
        for text in (directory, *arguments)
        for path in (text, os.path.normpath(os.path.join(directory, text.rpartition("=")[2])))
    ):
        return "a path that names the caller's own process (/dev/fd, /proc/self)"
    return None


def _names_its_own_process(path: str) -> bool:
    """A path whose meaning is the process that opens it: the server's, once served. Checked as
    written and as read from the working directory (`fd/5` in /dev; `--option=PATH`)."""
    return path.startswith(("/dev/fd", "/dev/std", "/proc/self", "/proc/thread-self"))


def _variable(name: object, value: object) -> bool:
    """Whether ``name=value`` can be set in the environment (`os.putenv` refuses the others)."""
    if not isinstance(name, str) or not isinstance(value, str) or not name or "=" in name:
        return False
    try:
        return b"\0" not in os.fsencode(name) + os.fsencode(value)
    except UnicodeError:
        return False


def _run(body: dict[str, Any], descriptors: list[int]) -> int:
    """Run the command as its own process would, on the client's descriptors."""
    from llmops.cli import exit_codes
    from llmops.cli.main import main, output_written

    try:
        with _as_client(body, descriptors):
            try:
                _Command.running = True
                try:
                    if _Command.interrupted == "interrupt":  # its signal came before the flag
                        raise KeyboardInterrupt
                    if _Command.interrupted is not None:
                        raise _ClientGone
                    return output_written(main(body["argv"]))
                finally:
                    _Command.running = False
            except SystemExit as stop:  # as a process exits with it
                code = stop.code
                if code is None or isinstance(code, int):
                    return code or 0
                print(code, file=sys.stderr)  # as Python prints a message it exits with
                return 1
            except KeyboardInterrupt:  # outside the command's own handler (`main` has one)
                print("llmops: interrupted", file=sys.stderr)
                return exit_codes.INTERRUPTED
            except _ClientGone:
                return exit_codes.INTERRUPTED
            except _Stop:
                raise
            except BaseException:  # `--debug` lets an internal error out: its traceback, as in
                _print_command_traceback()  # a process of its own
                return 1  # as Python exits on an exception nothing caught
    except OSError as error:  # the working directory went between the check and the command
        with contextlib.suppress(OSError):
            os.write(descriptors[2], f"llmops: error: {error}\n".encode(errors="replace"))
        return exit_codes.USAGE


def _print_command_traceback() -> None:
    """The traceback of the exception being handled, from the command line's `main` down (the
    server's own frames above it are no part of the command)."""
    import traceback

    error = sys.exc_info()[1]
    assert error is not None
    frames = error.__traceback__
    while frames is not None and frames.tb_frame.f_code.co_name != "main":
        frames = frames.tb_next
    traceback.print_exception(type(error), error, frames or error.__traceback__)


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
        unbuffered = bool(body["environ"].get("PYTHONUNBUFFERED"))
        sys.stdout = _standard_output(unbuffered)
        sys.stderr = io.TextIOWrapper(
            io.FileIO(2, "w", closefd=False),
            encoding="utf-8",
            errors="backslashreplace",
            line_buffering=True,
            write_through=unbuffered,
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


def _standard_output(unbuffered: bool) -> io.TextIOWrapper:
    """The client's standard output as its own process would have it under `llmops.cli.main`:
    every byte taken, line-buffered on a terminal, not buffered at all with `PYTHONUNBUFFERED`."""
    from llmops.stream_output import WholeWrites

    raw = WholeWrites(1, "<stdout>")
    if unbuffered:
        return io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    return io.TextIOWrapper(
        io.BufferedWriter(raw, 8192), encoding="utf-8", line_buffering=raw.isatty()
    )


def main(arguments: list[str]) -> int:
    if len(arguments) != 1 or wire.socket_path(arguments[0]) is None:
        print("usage: python -m llmops.cli.warm_server ABSOLUTE-SOCKET-PATH", file=sys.stderr)
        return 2
    idle_seconds, _ = wire.idle_seconds(os.environ.get(wire.IDLE_VARIABLE, ""))  # the client warns
    path = wire.socket_path(arguments[0])
    assert path is not None
    return serve(Path(path), idle_seconds)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
