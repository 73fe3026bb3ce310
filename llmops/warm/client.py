"""A command handed to the warm server (`llmops.cli.warm_server`) when ``$LLMOPS_SERVER`` names its
socket: the command runs there, on this process's standard streams, and this process exits with
its code. When no server listens, the command runs here and a server is started for the next one.
Standard library only: this runs before the command line is imported.
"""

from __future__ import annotations

import os
import socket
import sys

from llmops.warm import wire

# What Argo CD's plugin and a CI job run over and over; everything else runs in its own process.
SERVED_COMMANDS = frozenset({"validate", "render", "cmp"})
_BUG = 3  # llmops.cli.exit_codes.BUG, without importing the command line
_INTERRUPTED = 130
_SERVER_LOST = 2  # llmops.cli.exit_codes.USAGE: the environment failed the command


def served_exit_code(
    arguments: list[str], descriptors: tuple[int, int, int] = (0, 1, 2)
) -> int | None:
    """The exit code of the command ``arguments`` as the server ran it on ``descriptors`` (its
    standard input, output and error), or None when it is to run in this process (no server asked
    for, another command, a standard stream closed, no server listening yet: one is started for
    the next command, or the server declined or ended before it began the command)."""
    command = next((word for word in arguments if not word.startswith("-")), None)
    if command not in SERVED_COMMANDS:
        return None
    value = os.environ.get(wire.SERVER_VARIABLE)
    path = wire.socket_path(value)
    if path is None:
        if value and value != "off":
            what = "names a folder" if value.endswith("/") else "is not an absolute path"
            _warn(
                f"{wire.SERVER_VARIABLE} {what} ({value!r}), not a socket's path such as "
                "/tmp/llmops-$(id -u)/server.sock; no server used"
            )
        return None
    if not all(_is_open(descriptor) for descriptor in descriptors):
        return None  # the command's own process says what a closed stream means
    request = _request(arguments)
    if request is None or len(request) > wire.MAX_REQUEST_BYTES:
        return None  # no working directory, or an environment of megabytes
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(path)
    except (FileNotFoundError, ConnectionRefusedError):
        connection.close()
        start_server(path)
        return None
    except OSError as error:
        connection.close()
        _warn(f"cannot reach the server at {path}: {error.strerror or error}")
        return None
    with connection:
        found = wire.peer(connection)
        if found is None or found[1] != os.getuid():
            _warn(f"the server at {path} runs as another user; not using it")
            return None
        if found[0] != wire.server_pid(path):  # a listener that is no llmops server
            _warn(f"{path} is not the socket of an llmops server; not using it")
            return None
        answers = wire.Answers(connection)
        try:
            wire.send_request(connection, request)
            connection.settimeout(_wait_seconds())
            answer = answers.next()
            if answer.get("ready") is True:
                connection.settimeout(None)
                # from here on the server runs it, not this process
                wire.send_go(connection, list(descriptors))
                return _code_when_done(connection, answers)
        except KeyboardInterrupt:  # the server has not begun it, and will not
            return _interrupted()
        except TimeoutError:
            _warn(f"the server at {path} was busy for {_wait_seconds():g} s; running here")
            return None
        except (wire.WireError, OSError):
            return None  # the server ended before it began the command (it was ending)
    if answer.get("stale") is True:
        start_server(path)  # a stale server ends as it declines: the next command finds a new one
    return None


def _wait_seconds() -> float:
    """How long a command waits for the server to take it (`LLMOPS_SERVER_WAIT`) before it runs
    in its own process: the server runs one command at a time, and one whose output is not read
    (`| less`) holds the others."""
    try:
        seconds = float(os.environ.get(wire.WAIT_VARIABLE, "") or wire.DEFAULT_WAIT_SECONDS)
    except ValueError:
        return wire.DEFAULT_WAIT_SECONDS
    return seconds if 0 < seconds < 86400 else wire.DEFAULT_WAIT_SECONDS


def _code_when_done(connection: socket.socket, answers: wire.Answers) -> int:
    """The command's exit code once the server has run it. Ctrl-C while it runs is passed on (the
    command stops as it would in its own process, and says so); a second one, or this process
    ending, leaves it to stop quietly."""
    try:
        try:
            answer = answers.next()
        except KeyboardInterrupt:
            connection.sendall(wire.INTERRUPT)
            answer = answers.next()
    except KeyboardInterrupt:
        return _INTERRUPTED
    except (wire.WireError, OSError) as error:
        # killed from outside (SIGKILL, the OOM killer): the machine's state, not a bug of llmops,
        # which a server answers with the command's own exit code 3
        _say(
            f"llmops: error: the server ended during the command ({error}), killed or out of "
            "memory; its output may be incomplete: run the command again"
        )
        return _SERVER_LOST
    code = answer.get("code")
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    _warn(f"the server answered {answer!r}; its output may be incomplete")
    return _BUG


def _interrupted() -> int:
    """Ctrl-C before the server began the command: said as the command itself says it."""
    _say("llmops: interrupted")
    return _INTERRUPTED


def _is_open(descriptor: int) -> bool:
    try:
        os.fstat(descriptor)
    except OSError:
        return False
    return True


def _request(arguments: list[str]) -> bytes | None:
    """The request for ``arguments`` as sent, or None when this process has no working directory
    (it was removed)."""
    from llmops.warm.identity import installation, process_context

    umask = os.umask(0)
    os.umask(umask)
    try:
        directory = os.getcwd()
    except OSError:
        return None
    return wire.encode_request(
        {
            "protocol": wire.PROTOCOL,
            "installation": installation(),
            "process": process_context(),
            "argv": arguments,
            "cwd": directory,
            "umask": umask,
            "environ": dict(os.environ),
        }
    )


def start_server(path: str) -> None:
    """Start a server on ``path`` in the background, detached from this process and its terminal,
    importing the same llmops as this process (whatever the working directory holds)."""
    folder = os.path.dirname(path)
    try:
        wire.private_folder(folder)
        refused = wire.not_ours(path)
    except (wire.WireError, OSError) as error:
        _warn(f"cannot use {folder} for the server's socket: {error}")
        return
    if refused is not None:
        _warn(f"{refused}: no server started there")
        return
    _, idle_warning = wire.idle_seconds(os.environ.get(wire.IDLE_VARIABLE, ""))
    if idle_warning is not None:
        _warn(idle_warning)
    import subprocess

    import llmops

    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(llmops.__file__)))
    bootstrap = (
        "import sys; sys.path.insert(0, sys.argv[1]); from llmops.cli.warm_server import main; "
        "raise SystemExit(main(sys.argv[2:]))"
    )
    try:
        subprocess.Popen(
            [sys.executable, "-c", bootstrap, package_parent, path],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd="/",
            start_new_session=True,
            close_fds=True,
        )
    except OSError as error:
        _warn(f"cannot start the server: {error.strerror or error}")


def _warn(message: str) -> None:
    _say(f"llmops: warning: {message}")


def _say(line: str) -> None:
    try:
        print(line, file=sys.stderr)
    except (OSError, ValueError):
        return  # no standard error to say it on
