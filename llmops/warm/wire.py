"""What a command and the warm server say to each other over a Unix socket, and who may talk.

A request is a length-prefixed JSON body with the command's arguments, working directory, umask,
environment and the installation it runs. The server answers with a JSON line: why it declined
(the command then runs in its own process), or that it is ready; the client then says go, sending
its standard input, output and error as file descriptors (`SCM_RIGHTS`), and the server's last
line is the exit code. Standard library only: the client
side runs before anything else of llmops is imported.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import stat
import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # nothing more imported before a served command: every call pays it
    from typing import Any

SERVER_VARIABLE = "LLMOPS_SERVER"
INTERRUPT = b"I"  # sent by a client interrupted (Ctrl-C) while its command runs
GO = b"G"  # sent by a client when the server is ready: run the command (it will not run it itself)
WAIT_VARIABLE = "LLMOPS_SERVER_WAIT"
DEFAULT_WAIT_SECONDS = 10.0
IDLE_VARIABLE = "LLMOPS_SERVER_IDLE"
DEFAULT_IDLE_SECONDS = 900.0
# a server that should never idle out is given a large number: it waits this long at most (a
# socket's timeout past the system clock's range ended every server at once)
MAX_IDLE_SECONDS = 365 * 86400.0


def idle_seconds(text: str) -> tuple[float, str | None]:
    """How long a server waits for a command before it ends (`LLMOPS_SERVER_IDLE`), from the
    variable's text, and a warning when the text is not a number of seconds (the default is used
    then). At least 1 s, at most a year."""
    if not text.strip():
        return DEFAULT_IDLE_SECONDS, None
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not seconds > 0:  # NaN too
        return DEFAULT_IDLE_SECONDS, (
            f"{IDLE_VARIABLE}={text!r} is not a number of seconds; the server waits "
            f"{DEFAULT_IDLE_SECONDS:g} s"
        )
    return min(max(seconds, 1.0), MAX_IDLE_SECONDS), None


PROTOCOL = 1
MAX_REQUEST_BYTES = 4 << 20  # arguments and environment; a real one is a few KB
_LENGTH = struct.Struct("!I")


class WireError(Exception):
    """The other side broke the protocol, went away, or is not trusted."""


def socket_path(value: str | None) -> str | None:
    """The socket ``$LLMOPS_SERVER`` names: an absolute path, or None (unset, empty, `off`, or a
    folder: a path ending in `/`)."""
    if not value or value == "off" or not os.path.isabs(value) or value.endswith("/"):
        return None
    return value


def private_folder(folder: str) -> None:
    """Create ``folder`` for its owner alone, or check that it is: a socket others could replace
    would hand them the user's environment and the command's output.
    **Raises:** ``WireError`` naming what is wrong, ``OSError`` when it cannot be made."""
    os.makedirs(folder, mode=0o700, exist_ok=True)
    status = os.stat(folder)
    if status.st_uid != os.getuid():
        raise WireError(f"{folder} belongs to another user")
    if status.st_mode & 0o022:
        raise WireError(f"{folder} is writable by others (mode {stat.filemode(status.st_mode)})")


def peer(connection: socket.socket) -> tuple[int, int] | None:
    """The process id and user id of the process at the other end (Linux's `SO_PEERCRED`), or
    None where the system cannot say."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    credentials = connection.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    pid, uid, _gid = struct.unpack("3i", credentials)
    return pid, uid


def peer_is_self(connection: socket.socket) -> bool:
    """Whether the process at the other end runs as this user."""
    found = peer(connection)
    return found is not None and found[1] == os.getuid()


def not_ours(path: str) -> str | None:
    """Why ``path`` (and the ``.lock`` and ``.log`` beside it) must not be used for a server's
    socket: something that is not a socket is there, or a lock that holds no process id. None when
    they are free or a server's."""
    try:
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            return f"{path} is there and is no socket"
    except FileNotFoundError:
        pass
    for beside, ours in ((f"{path}.lock", _LOCK_TEXT), (f"{path}.log", _LOG_TEXT)):
        try:
            status = os.lstat(beside)
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(status.st_mode) or status.st_nlink != 1:
            return f"{beside} is there and is no file of its own"
        if status.st_mode & 0o077:
            return f"{beside} is there and others may read it: not a server's"
        try:
            with open(beside, "rb") as file:
                start = file.read(64)
        except OSError as error:
            return f"{beside} cannot be read: {error.strerror or error}"
        if start and not ours.match(start):
            return f"{beside} is there and was not written by a server"
    return None


# what a server writes in the files beside its socket (made for its owner alone, mode 0600)
_LOCK_TEXT = re.compile(rb"[0-9]{1,10}\n\Z")
_LOG_TEXT = re.compile(rb"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z ")


def server_pid(path: str) -> int | None:
    """The process id the server listening at ``path`` wrote beside it (``<path>.lock``)."""
    try:
        with open(f"{path}.lock", encoding="ascii") as lock:
            return int(lock.read().strip())
    except (OSError, ValueError):
        return None


def encode_request(body: dict[str, Any]) -> bytes:
    """The request's body as sent (ASCII JSON: a name that is not UTF-8 travels as its escapes)."""
    return json.dumps(body, ensure_ascii=True).encode("ascii")


def send_request(connection: socket.socket, data: bytes) -> None:
    """The request's body, length first. The standard streams follow only with `send_go`: a
    request waiting in the server's queue holds none of them open (a reader of this process's
    output would wait for the server otherwise)."""
    connection.sendall(_LENGTH.pack(len(data)) + data)


def send_go(connection: socket.socket, descriptors: list[int]) -> None:
    """Run the command, on these standard streams (sent with it)."""
    socket.send_fds(connection, [GO], descriptors)


def receive_go(connection: socket.socket) -> list[int] | None:
    """The client's standard streams when it said to run the command, or None (it went away,
    or said something else). **Raises:** ``OSError`` (a timeout among them)."""
    message, descriptors, _flags, _address = socket.recv_fds(connection, 1, 3)
    if message == GO and len(descriptors) == 3:
        return descriptors
    for descriptor in descriptors:
        os.close(descriptor)
    return None


def receive_request(connection: socket.socket, deadline: float) -> dict[str, Any]:
    """The body of one request, all of it before ``deadline`` (a `time.monotonic` value).
    **Raises:** ``WireError``."""
    import time

    def wait() -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise WireError("the request took too long")
        connection.settimeout(left)

    try:
        data = bytearray()
        while len(data) < _LENGTH.size:
            wait()
            data += _received(connection, _LENGTH.size - len(data))
        (length,) = _LENGTH.unpack_from(data)
        if length > MAX_REQUEST_BYTES:
            raise WireError(f"a request of {length} bytes")
        while len(data) < _LENGTH.size + length:
            wait()
            data += _received(connection, _LENGTH.size + length - len(data))
        connection.settimeout(None)
        body = json.loads(bytes(data[_LENGTH.size :]))
        if not isinstance(body, dict):
            raise WireError("a request is a JSON object")
        return body
    except WireError:
        raise
    except Exception as error:  # JSON nested too deep is a RecursionError
        raise WireError(f"{type(error).__name__}: {error}") from error


def _received(connection: socket.socket, wanted: int) -> bytes:
    chunk = connection.recv(min(wanted, 1 << 16))
    if not chunk:
        raise WireError("the request ended early")
    return chunk


def send_answer(connection: socket.socket, answer: dict[str, Any]) -> None:
    connection.sendall(json.dumps(answer).encode("ascii") + b"\n")


class Answers:
    """The server's answers on a connection, one JSON object per line: whether it runs the command
    (or why it declined), then the command's exit code."""

    def __init__(self, connection: socket.socket) -> None:
        self.connection = connection
        self.buffer = bytearray()

    def next(self) -> dict[str, Any]:
        """The next answer. **Raises:** ``WireError`` when the server went away first."""
        while b"\n" not in self.buffer:
            chunk = self.connection.recv(4096)
            if not chunk:
                raise WireError("the server ended before it answered")
            self.buffer += chunk
            if len(self.buffer) > 1 << 16:
                raise WireError("an answer too long")
        line, _, rest = bytes(self.buffer).partition(b"\n")
        self.buffer = bytearray(rest)
        try:
            answer = json.loads(line)
        except ValueError as error:
            raise WireError(f"an answer that is not JSON: {error}") from error
        if not isinstance(answer, dict):
            raise WireError("an answer that is not a JSON object")
        return answer
