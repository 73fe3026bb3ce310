"""The warm server (`LLMOPS_SERVER`) runs `validate`, `render` and `cmp generate` for the installed
program: what a served command prints, writes and exits with is what the command's own process
gives, byte for byte, while the estate's files change at random (the server keeps the files it
read in memory); a server whose code changed, or that is asked by another installation, declines
and the command runs in its own process; a folder others may write in is not used; an idle server
ends; a broken request does not stop it."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.generate_estate import generate_estate
from compiler.load.estate import ENVIRONMENTS_DIR
from llmops.warm import wire
from llmops.warm.client import served_exit_code
from llmops.warm.identity import loaded_code
from tests.cli.test_render_cache import everything_in, next_round
from tests.helpers.estate import copy_bundled_estate, write_files
from tests.helpers.signals import ctrl_c_reaches_it

pytestmark = pytest.mark.slow  # every test starts the server, most the program

LLMOPS = Path(sys.executable).with_name("llmops")
ROUNDS = int(os.environ.get("LLMOPS_TEST_ROUNDS", "16"))


@pytest.fixture
def socket_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A socket in a private folder of its own (short: a socket's path has at most 107 bytes), the
    variable that names it set; the server stopped afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="llmops-warm-"))
    path = folder / "server.sock"
    monkeypatch.setenv(wire.SERVER_VARIABLE, str(path))
    try:
        yield path
    finally:
        _stop(path)
        for leftover in sorted(folder.iterdir()):
            leftover.unlink()
        folder.rmdir()


def _server_pid(path: Path) -> int | None:
    try:
        return int(Path(f"{path}.lock").read_text().strip())
    except (OSError, ValueError):
        return None


def _stop(path: Path) -> None:
    pid = _server_pid(path)
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    _wait(lambda: not path.exists(), "the server to end")


def _wait(condition: object, what: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}")
        time.sleep(0.05)


def _listening(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def _start(path: Path) -> None:
    """Start the server as the first command would, and wait until it listens."""
    from llmops.warm.client import start_server

    start_server(str(path))
    _wait(lambda: _listening(path), "the server to listen")


@pytest.fixture
def served_estate(socket_path: Path, tmp_path: Path) -> Path:
    """A copy of the bundled estate, and a server listening at ``socket_path``."""
    estate = copy_bundled_estate(tmp_path / "estate")
    _start(socket_path)
    return estate


def _program(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, bytes, bytes]:
    """The installed program's exit code, stdout and stderr."""
    done = subprocess.run(
        [str(LLMOPS), *argv], cwd=cwd, env=env, capture_output=True, timeout=300, check=False
    )
    return done.returncode, done.stdout, done.stderr


def _served(argv: list[str], cwd: Path, tmp: Path) -> tuple[int, bytes, bytes]:
    """``argv`` as the server runs it for this process (from ``cwd``), on files for its standard
    streams: fails when the server did not run it."""
    out, err = tmp / "served-out", tmp / "served-err"
    with open(os.devnull, "rb") as stdin, open(out, "wb") as stdout, open(err, "wb") as stderr:
        here = os.getcwd()
        os.chdir(cwd)
        try:
            code = served_exit_code(argv, (stdin.fileno(), stdout.fileno(), stderr.fileno()))
        finally:
            os.chdir(here)
    assert code is not None, f"the server did not run {argv}: {_log()}"
    return code, out.read_bytes(), err.read_bytes()


def _log() -> str:
    """What the server named by the variable wrote in its log."""
    try:
        return Path(f"{os.environ[wire.SERVER_VARIABLE]}.log").read_text()
    except (KeyError, OSError) as error:
        return f"no log ({error})"


def _without_server() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != wire.SERVER_VARIABLE}


def test_served_commands_give_what_their_own_process_gives_while_files_change(
    socket_path: Path, tmp_path: Path
) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    pristine = everything_in(estate / ENVIRONMENTS_DIR)
    _start(socket_path)
    rng = random.Random(4242)
    own = _without_server()
    commands = [
        ["render", "--cache-dir", "off"],
        ["render"],  # with the test run's cache
        ["render", "--env", "prod"],
        ["validate"],
        ["validate", "--env", "stg", "--format", "json"],
    ]
    for round_number in range(ROUNDS):
        done = "nothing"
        if round_number:
            done = next_round(estate, pristine, rng)
        for argv in commands:
            context = f"round {round_number} ({done}): {' '.join(argv)}"
            assert _served(argv, estate, tmp_path) == _program(argv, estate, own), context
    assert _server_pid(socket_path) is not None


def test_a_served_command_takes_the_callers_folder_variables_and_umask(
    served_estate: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`-o` relative to the caller's working directory, files made with its umask, `LLMOPS_ENV`
    and Argo CD's `ARGOCD_ENV_LLMOPS_ENV` from its environment."""
    estate = served_estate
    monkeypatch.setenv("LLMOPS_ENV", "stg")
    monkeypatch.setenv("ARGOCD_ENV_LLMOPS_ENV", "dev")
    env, own = dict(os.environ), _without_server()
    for umask in (0o022, 0o077):
        served_out, own_out = f"served-{umask:o}", f"own-{umask:o}"
        served = _program_with_umask(["render", "-o", served_out], estate, env, umask)
        mine = _program_with_umask(["render", "-o", own_out], estate, own, umask)
        assert served[0] == mine[0] == 0
        assert served[2].replace(served_out.encode(), b"") == mine[2].replace(own_out.encode(), b"")
        assert everything_in(estate / served_out) == everything_in(estate / own_out)
        assert sorted(everything_in(estate / served_out)) == sorted(everything_in(estate / own_out))
        assert [p.name for p in (estate / served_out).iterdir() if p.is_dir()] == ["stg"]
        modes = {p.stat().st_mode & 0o777 for p in (estate / served_out).rglob("*") if p.is_file()}
        assert modes == {0o666 & ~umask}
    generated = _program(["cmp", "generate"], estate, own)
    assert generated[0] == 0
    assert _program(["cmp", "generate"], estate, env) == generated
    assert _served(["cmp", "generate"], estate, tmp_path) == generated
    monkeypatch.delenv("ARGOCD_ENV_LLMOPS_ENV")  # the server keeps no caller's variable
    assert _served(["cmp", "generate"], estate, tmp_path)[0] == 2


def _program_with_umask(
    argv: list[str], cwd: Path, env: dict[str, str], umask: int
) -> tuple[int, bytes, bytes]:
    done = subprocess.run(
        [str(LLMOPS), *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
        preexec_fn=lambda: os.umask(umask),
    )
    return done.returncode, done.stdout, done.stderr


def test_the_first_command_starts_the_server_and_runs_in_its_own_process(
    socket_path: Path, tmp_path: Path
) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    first = _program(["validate"], estate, dict(os.environ))
    assert first == _program(["validate"], estate, _without_server())
    _wait(lambda: _listening(socket_path), "the server the first command started")
    assert _served(["validate"], estate, tmp_path) == first
    log = Path(f"{socket_path}.log").read_text()
    assert "started: process" in log


def test_commands_the_server_does_not_run_stay_in_their_own_process(
    socket_path: Path, tmp_path: Path
) -> None:
    _start(socket_path)
    for argv in (["rules"], ["schema", "--help"], ["--version"]):
        assert served_exit_code(argv) is None


def test_a_stale_server_declines_ends_and_the_next_command_starts_a_new_one(
    socket_path: Path, served_estate: Path, tmp_path: Path
) -> None:
    estate = served_estate
    first = _server_pid(socket_path)
    # another installation: declined, the server goes on
    answer = _raw_request(socket_path, {"installation": {"llmops": "/elsewhere"}})
    assert answer == {"declined": "another installation of llmops", "stale": False}
    assert _served(["validate"], estate, tmp_path)[0] == 0
    assert _server_pid(socket_path) == first


def test_loaded_code_notices_a_changed_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "warm_probe_module.py"
    module.write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    __import__("warm_probe_module")
    try:
        code = loaded_code()
        assert code.changed() is None
        # written in place with its size and modification time put back (`touch -r`, `cp -p`):
        # the server would answer with what it loaded, and its renders fill the render cache
        # under the new code's key
        before = module.stat()
        with module.open("r+b") as rewritten:
            rewritten.write(b"VALUE = 2\n")
        os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert module.stat().st_size == before.st_size
        assert code.changed() == f"{module} changed since the server loaded it"
        module.write_text("VALUE = 22\n")
        assert code.changed() == f"{module} changed since the server loaded it"
        module.unlink()
        assert code.changed() is not None
    finally:
        sys.modules.pop("warm_probe_module", None)


def _raw_request(path: Path, changes: dict[str, object]) -> dict[str, object]:
    """A request as the client makes it, with ``changes``, answered by the server."""
    from llmops.warm.client import _request

    body = {**json.loads(_request(["validate"]) or b"{}"), **changes}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(str(path))
        wire.send_request(connection, wire.encode_request(body))
        return wire.Answers(connection).next()


def test_a_broken_request_does_not_stop_the_server(
    socket_path: Path, served_estate: Path, tmp_path: Path
) -> None:
    estate = served_estate
    for junk in (b"", b"\x00\x00\x00\x05{", b"GET / HTTP/1.1\r\n\r\n", b"\xff" * 70000):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(str(socket_path))
            if junk:
                connection.sendall(junk)
    assert _raw_request(socket_path, {"argv": "validate"})["declined"] == (
        "arguments that are not a list of strings"
    )
    assert _served(["validate"], estate, tmp_path)[0] == 0


def test_an_idle_server_ends_and_says_why(
    socket_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(wire.IDLE_VARIABLE, "1")
    _start(socket_path)
    _wait(lambda: not socket_path.exists(), "the idle server to end")
    assert "ended: idle for 1 s after 0 commands" in Path(f"{socket_path}.log").read_text()


@pytest.mark.parametrize("idle", ["inf", "1e309", "99999999999", "nan", "soon", "-5"])
def test_an_idle_time_of_any_text_starts_a_server_that_serves(
    socket_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    idle: str,
) -> None:
    """A number past the socket timeout's range (a server that should never idle out) ended every
    server at once, silently: now it waits at most a year; text that is no number of seconds is
    named in a warning and the default used."""
    monkeypatch.setenv(wire.IDLE_VARIABLE, idle)
    _start(socket_path)
    warned = capsys.readouterr().err
    number = idle not in ("nan", "soon", "-5")
    assert (warned == "") if number else (f"{wire.IDLE_VARIABLE}={idle!r}" in warned)
    estate = copy_bundled_estate(tmp_path / "estate")
    assert _served(["validate"], estate, tmp_path)[0] == 0
    assert wire.idle_seconds(idle)[0] == (wire.MAX_IDLE_SECONDS if number else 900.0)


def test_a_server_killed_during_a_command_is_an_error_not_a_bug(
    socket_path: Path, served_estate: Path
) -> None:
    """The server killed from outside (SIGKILL, the OOM killer) while it writes a render: the
    command fails (exit 2) and says to run it again, not exit 3, which means a bug in llmops."""
    import fcntl

    reader, writer = os.pipe()
    fcntl.fcntl(writer, 1031, 4096)  # F_SETPIPE_SZ: the render (40 KB) fills it, and waits
    with open(reader, "rb") as output:
        client = subprocess.Popen(
            [str(LLMOPS), "render"],
            cwd=served_estate,
            stdout=writer,
            stderr=subprocess.PIPE,
            env={**os.environ, "LLMOPS_CACHE_DIR": "off"},
        )
        os.close(writer)
        pid = _server_pid(socket_path)
        assert pid is not None
        pipe = f"pipe:[{os.fstat(output.fileno()).st_ino}]"
        _wait(lambda: _holds(pid, pipe), "the server to take the command's standard output")
        time.sleep(0.5)  # writing, into a pipe nobody reads
        os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):  # started from this process: reaped here
            os.waitpid(pid, 0)
        output.read()
        _, errors = client.communicate(timeout=60)
    assert client.returncode == 2, errors
    assert b"the server ended during the command" in errors and b"run the command again" in errors


def _holds(pid: int, target: str) -> bool:
    """Whether process ``pid`` has a descriptor open on ``target`` (`pipe:[INODE]`)."""
    try:
        descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    return any(_link(descriptor) == target for descriptor in descriptors)


def _link(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def test_a_caller_with_other_limits_or_its_own_paths_runs_in_its_own_process(
    socket_path: Path, served_estate: Path, tmp_path: Path
) -> None:
    """The server cannot take over the caller's resource limits, nor paths that name the caller's
    own process: served, a render past `ulimit -f` was written whole (exit 0), and `/dev/fd/N`
    named the server's descriptor. Such a command runs in its own process, as without a server."""
    import resource

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))

    with open(tmp_path / "out", "wb") as output:
        limited = subprocess.run(
            [str(LLMOPS), "render"],
            cwd=served_estate,
            stdout=output,
            stderr=subprocess.PIPE,
            preexec_fn=small_files,
            env={**os.environ, "LLMOPS_CACHE_DIR": "off"},
            timeout=120,
            check=False,
        )
    assert limited.returncode == 2, limited.stderr
    assert b"cannot use standard output: File too large" in limited.stderr
    assert "declined: a process with other resource limits (ulimit)" in _log()
    # the estate by a descriptor only the caller holds, absolute and relative to /dev
    for written, where in (("/dev/fd/{}", tmp_path), ("fd/{}", Path("/dev"))):
        folder = os.open(served_estate, os.O_RDONLY | os.O_DIRECTORY)
        try:
            by_descriptor = subprocess.run(
                [str(LLMOPS), "validate", written.format(folder)],
                cwd=where,
                capture_output=True,
                pass_fds=(folder,),
                env={**os.environ, "LLMOPS_CACHE_DIR": "off"},
                timeout=120,
                check=False,
            )
        finally:
            os.close(folder)
        assert by_descriptor.returncode == 0, (written, by_descriptor.stderr)
        assert b"no problems" in by_descriptor.stdout
    assert _log().count("declined: a path that names the caller's own process") == 2


def test_every_difference_of_process_context_is_named() -> None:
    """What the server compares, each named when it differs (a mount namespace: another folder's
    estate rendered; groups or capabilities: a file read the caller may not read)."""
    from llmops.warm.identity import context_difference, process_context

    own = process_context()
    assert context_difference(process_context(), own) is None
    assert context_difference(None, own) == "no process context"
    for key, words in (
        ("mnt", "another mount namespace"),
        ("root", "another root folder"),
        ("groups", "other supplementary groups"),
        ("capabilities", "other capabilities"),
        ("limits", "other resource limits (ulimit)"),
    ):
        other = {**own, key: "something else"}
        assert context_difference(other, own) == f"a process with {words} than the server's"


def test_a_server_whose_socket_was_removed_ends_so_the_next_one_can_start(
    socket_path: Path, served_estate: Path, tmp_path: Path
) -> None:
    """`rm $LLMOPS_SERVER` (a clean-up of /tmp): no command can reach that server, which held the
    lock, so each command started a server that ended at once, until the first idled out."""
    first = _server_pid(socket_path)
    socket_path.unlink()
    _wait(lambda: "ended: its socket was removed" in _log(), "the server to notice")
    assert _program(["validate"], served_estate, dict(os.environ))[0] == 0  # starts a new one
    _wait(lambda: _listening(socket_path), "a new server")
    assert _server_pid(socket_path) not in (None, first)
    assert _served(["validate"], served_estate, tmp_path)[0] == 0


def test_a_folder_others_may_write_in_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    monkeypatch.setenv(wire.SERVER_VARIABLE, str(folder / "server.sock"))
    estate = copy_bundled_estate(tmp_path / "estate")
    code, stdout, stderr = _program(["validate"], estate, dict(os.environ))
    assert code == 0
    assert b"is writable by others" in stderr
    assert stdout == _program(["validate"], estate, _without_server())[1]
    time.sleep(1)
    assert not (folder / "server.sock").exists()


def test_a_relative_socket_path_is_named_and_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(wire.SERVER_VARIABLE, "server.sock")
    root = write_files(tmp_path, {"environments/dev/.keep": ""})
    code, _, stderr = _program(["validate"], root, dict(os.environ))
    assert b"LLMOPS_SERVER is not an absolute path" in stderr
    assert not (root / "server.sock").exists()
    assert code == _program(["validate"], root, _without_server())[0]
    # a folder's path (a trailing `/`): named, and no folder made for a server
    monkeypatch.setenv(wire.SERVER_VARIABLE, f"{tmp_path}/sockets/")
    code, _, stderr = _program(["validate"], root, dict(os.environ))
    assert b"LLMOPS_SERVER names a folder" in stderr
    assert not (tmp_path / "sockets").exists()
    assert code == _program(["validate"], root, _without_server())[0]


def test_a_listener_that_is_no_server_is_not_used(socket_path: Path, tmp_path: Path) -> None:
    """Another program listening at the path (here this test, which never answers) is not sent
    the command: the command runs in its own process, with a warning, and does not wait."""
    estate = copy_bundled_estate(tmp_path / "estate")
    socket_path.parent.chmod(0o700)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(socket_path))
        listener.listen(4)
        code, stdout, stderr = _program(["validate"], estate, dict(os.environ))
    assert b"is not the socket of an llmops server; not using it" in stderr
    assert (code, stdout) == _program(["validate"], estate, _without_server())[:2]


def test_commands_at_once_each_run_once(served_estate: Path, tmp_path: Path) -> None:
    """Twelve `cmp generate` at a time against one server: each prints its stream once (a client
    once took the server's closing for a refusal and ran the command a second time itself)."""
    estate = served_estate
    env = {**os.environ, "ARGOCD_ENV_LLMOPS_ENV": "dev"}
    expected = _program(["cmp", "generate"], estate, {**_without_server(), **env_of(env)})
    for _ in range(3):
        processes = [
            subprocess.Popen(
                [str(LLMOPS), "cmp", "generate"],
                cwd=estate,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(12)
        ]
        for process in processes:
            stdout, stderr = process.communicate(timeout=300)
            assert (process.returncode, stdout, stderr) == expected


def env_of(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k != wire.SERVER_VARIABLE}


def _shell(command: str, cwd: Path, env: dict[str, str]) -> tuple[int, bytes, bytes]:
    done = subprocess.run(
        ["/bin/sh", "-c", command], cwd=cwd, env=env, capture_output=True, timeout=120, check=False
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize(
    "redirect", [">&-", "2>&- >/dev/null", "<&-"], ids=["stdout", "stderr", "stdin"]
)
def test_a_closed_standard_stream_gives_what_the_commands_own_process_gives(
    socket_path: Path, tmp_path: Path, redirect: str
) -> None:
    """A closed stream's number would go to the socket, and the server would write the command's
    output into its own connection (and, for a large one, wait on it for ever)."""
    estate = tmp_path / "estate"
    generate_estate(estate, 30)  # more than a socket's buffer holds
    _start(socket_path)
    for command in ("render", "validate"):
        line = f"{LLMOPS} {command} {redirect}"
        served = _shell(line, estate, dict(os.environ))
        assert served == _shell(line, estate, _without_server()), line
    assert _served(["validate"], estate, tmp_path)[0] == 0  # the server serves on


def test_standard_error_closed_leaves_standard_output_to_the_objects(tmp_path: Path) -> None:
    """`2>&-`: what would be said on standard error goes nowhere (it used to go to standard
    output, into a render's objects, and end as an internal error)."""
    estate = copy_bundled_estate(tmp_path / "estate")
    (estate / "environments/dev/serving/example-model.yaml").write_text("kind: [\n")
    assert _shell(f"{LLMOPS} render 2>&-", estate, _without_server())[:2] == (1, b"")


def test_ctrl_c_stops_the_served_command_as_it_stops_its_own_process(
    socket_path: Path, tmp_path: Path
) -> None:
    """Ctrl-C at the client stops the command in the server (it says `interrupted`, exits 130
    and writes no files); a client that is killed stops it quietly. The server serves on."""
    estate = tmp_path / "estate"
    generate_estate(estate, 1000)  # a render of 1-2.5 s
    _start(socket_path)
    for how in (signal.SIGINT, signal.SIGKILL):
        out = estate / f"out-{how.name}"
        process = _render_into(out, estate)
        time.sleep(0.5)  # the server has begun the command
        process.send_signal(how)
        stdout, stderr = process.communicate(timeout=60)
        if how is signal.SIGINT:
            assert (process.returncode, stdout, stderr) == (130, b"", b"llmops: interrupted\n")
        time.sleep(3)  # long enough for the command to have finished, had it gone on
        assert not out.exists(), f"the command went on after {how.name}"
    assert _served(["validate"], estate, tmp_path)[0] == 0


def test_commands_waiting_when_the_server_is_stopped_run_in_their_own_process(
    socket_path: Path, tmp_path: Path
) -> None:
    """SIGTERM while a command runs: it runs to its end; the commands queued behind it run in
    their own processes (they used to fail, exit 3)."""
    estate = tmp_path / "estate"
    generate_estate(estate, 600)
    _start(socket_path)
    argv = [str(LLMOPS), "render", "--cache-dir", "off", "--env", "dev"]
    expected = _program(argv[1:], estate, _without_server())
    running = subprocess.Popen(argv, cwd=estate, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.7)
    queued = [
        subprocess.Popen(argv, cwd=estate, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    time.sleep(0.3)
    pid = _server_pid(socket_path)
    assert pid is not None
    os.kill(pid, signal.SIGTERM)
    for process in [running, *queued]:
        stdout, stderr = process.communicate(timeout=300)
        assert (process.returncode, stdout, stderr) == expected
    _wait(lambda: not socket_path.exists(), "the stopped server to end")
    assert "stopped by a signal after 1 commands" in Path(f"{socket_path}.log").read_text()


def test_a_removed_working_directory_gives_what_its_own_process_gives(
    served_estate: Path, tmp_path: Path
) -> None:
    estate = served_estate
    gone = tmp_path / "gone"
    line = f"mkdir {gone} && cd {gone} && rmdir {gone} && {LLMOPS} validate {estate}"
    served = _shell(line, tmp_path, dict(os.environ))
    assert served == _shell(line, tmp_path, _without_server())
    assert served[0] == 0


def test_a_path_that_holds_something_else_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`LLMOPS_SERVER` naming a file (or a folder) that is there: no server replaces it, nor the
    `.lock` and `.log` beside it."""
    folder = Path(tempfile.mkdtemp(prefix="llmops-warm-"))
    estate = copy_bundled_estate(tmp_path / "estate")
    try:
        precious = folder / "precious"
        for path, text in ((precious, "important"), (folder / "precious.lock", "mine")):
            path.write_text(text)
        monkeypatch.setenv(wire.SERVER_VARIABLE, str(precious))
        code, stdout, stderr = _program(["validate"], estate, dict(os.environ))
        assert b"is there and is no socket: no server started there" in stderr
        assert (code, stdout) == _program(["validate"], estate, _without_server())[:2]
        time.sleep(1)
        assert precious.read_text() == "important"
        assert (folder / "precious.lock").read_text() == "mine"
        assert not (folder / "precious.log").exists()
    finally:
        for leftover in sorted(folder.iterdir()):
            leftover.unlink()
        folder.rmdir()


def test_another_pythonpath_is_another_installation(
    socket_path: Path, served_estate: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Modules found through `PYTHONPATH` (a compiler or templates of another checkout) may differ
    from the server's: such a command is declined and runs in its own process."""
    estate = served_estate
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "elsewhere"))
    with open(os.devnull, "wb") as null:
        assert served_exit_code(["validate", str(estate)], (null.fileno(),) * 3) is None
    assert "declined: another installation of llmops" in Path(f"{socket_path}.log").read_text()


def test_a_connection_that_never_sends_holds_the_next_command_briefly(
    socket_path: Path, served_estate: Path, tmp_path: Path
) -> None:
    estate = served_estate
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.connect(str(socket_path))
        started = time.monotonic()
        assert _served(["validate"], estate, tmp_path)[0] == 0
        assert time.monotonic() - started < 10  # the request's 2 s, and the command's own time


def test_an_environment_that_cannot_be_set_is_declined_and_the_server_serves_on(
    socket_path: Path, served_estate: Path, tmp_path: Path
) -> None:
    estate = served_estate
    for environment in ({"A=B": "1"}, {"A": "nul\x00"}, {"": "1"}, {"A": "\ud800"}):
        answer = _raw_request(socket_path, {"environ": environment})
        assert answer["declined"].startswith("an environment that is not strings by name")
    assert _served(["validate"], estate, tmp_path)[0] == 0


def test_the_log_keeps_what_servers_before_said(socket_path: Path) -> None:
    _start(socket_path)
    _stop(socket_path)
    _start(socket_path)
    log = Path(f"{socket_path}.log").read_text()
    assert log.count("started: process") == 2
    assert "ended: stopped by a signal" in log
    _stop(socket_path)
    # no process id of one that is gone (cleared once its socket is removed)
    _wait(lambda: Path(f"{socket_path}.lock").read_text() == "", "the process id to be cleared")


def test_ctrl_c_at_a_command_waiting_for_the_server_stops_it_at_once(
    socket_path: Path, tmp_path: Path
) -> None:
    """A command waiting behind another is stopped by Ctrl-C there and then; the server never
    runs it (it used to run it to its end once its turn came, exit 0)."""
    big, small = tmp_path / "big", copy_bundled_estate(tmp_path / "small")
    generate_estate(big, 1000)
    _start(socket_path)
    running = _render_into(tmp_path / "a", big)
    time.sleep(0.5)
    waiting = _render_into(tmp_path / "b", small)
    time.sleep(0.5)
    waiting.send_signal(signal.SIGINT)
    assert waiting.communicate(timeout=60) == (b"", b"llmops: interrupted\n")
    assert waiting.returncode == 130
    assert running.poll() is None, "it did not wait for the running command"
    running.communicate(timeout=300)
    assert running.returncode == 0
    time.sleep(1)
    assert not (tmp_path / "b").exists()


def _render_into(out: Path, estate: Path) -> subprocess.Popen[bytes]:
    """`llmops render -o OUT` of ``estate`` without a render cache, started (not waited for), as
    from a terminal: Ctrl-C reaches it even when the tests run as a background job."""
    return subprocess.Popen(
        [str(LLMOPS), "render", "--cache-dir", "off", "-o", str(out)],
        cwd=estate,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=ctrl_c_reaches_it,
    )


def test_a_command_whose_output_is_not_read_holds_the_others_only_so_long(
    socket_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`llmops render | less` left open: a command behind it runs in its own process after
    `LLMOPS_SERVER_WAIT` seconds, with a warning, instead of waiting for the reader."""
    estate = tmp_path / "estate"
    generate_estate(estate, 30)  # more than a pipe holds
    _start(socket_path)
    unread = subprocess.Popen(
        [str(LLMOPS), "render", "--cache-dir", "off"],
        cwd=estate,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.0)
        monkeypatch.setenv(wire.WAIT_VARIABLE, "1")
        started = time.monotonic()
        code, stdout, stderr = _program(["validate"], estate, dict(os.environ))
        assert time.monotonic() - started < 15
        assert b"was busy for 1 s; running here" in stderr
        assert (code, stdout) == _program(["validate"], estate, _without_server())[:2]
    finally:
        assert unread.stdout is not None
        unread.stdout.read()
        unread.wait(timeout=60)
    assert unread.returncode == 0


def test_files_beside_the_socket_that_are_not_a_servers_are_left_alone(
    socket_path: Path, tmp_path: Path
) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    folder = socket_path.parent
    other = tmp_path / "other"
    other.write_text("someone's file\n")
    cases = {
        f"{socket_path}.log": lambda path: Path(path).write_text("my diary\n"),
        f"{socket_path}.lock": lambda path: Path(path).write_text("12345\n"),  # readable by all
    }
    for beside, make in [*cases.items(), (f"{socket_path}.log", None)]:
        if make is None:
            os.link(other, beside)  # a second name of another file
        else:
            make(beside)
        before = Path(beside).read_bytes()
        code, _, stderr = _program(["validate"], estate, dict(os.environ))
        assert code == 0
        assert b"no server started there" in stderr, beside
        time.sleep(0.5)
        assert Path(beside).read_bytes() == before
        assert not socket_path.exists()
        os.unlink(beside)
    assert sorted(p.name for p in folder.iterdir()) == []


def test_a_served_command_is_as_unbuffered_as_its_own_process(
    socket_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `PYTHONUNBUFFERED` (the project's image sets it), standard output and error in one
    file keep their order, and a full disk is reported where the command writes."""
    estate = copy_bundled_estate(tmp_path / "estate")
    monkeypatch.setenv("PYTHONUNBUFFERED", "1")
    _start(socket_path)
    for line in (f"{LLMOPS} render -o out --verify 2>&1", f"{LLMOPS} validate >/dev/full"):
        served = _shell(line.replace("out", "served"), estate, dict(os.environ))
        own = _shell(line.replace("out", "own"), estate, _without_server())
        assert served == (own[0], own[1].replace(b"own", b"served"), own[2]), line


def test_a_request_nested_too_deep_is_declined_and_keeps_no_descriptor(
    socket_path: Path, served_estate: Path, tmp_path: Path
) -> None:
    estate = served_estate
    pid = _server_pid(socket_path)
    before = len(os.listdir(f"/proc/{pid}/fd"))
    for _ in range(20):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(str(socket_path))
            wire.send_request(connection, b"[" * 100_000)
            assert "RecursionError" in wire.Answers(connection).next()["declined"]
    # the server closes its side after the answer the client already has: wait for it, not longer
    _wait(lambda: len(os.listdir(f"/proc/{pid}/fd")) == before, "the declined connections' close")
    assert _served(["validate"], estate, tmp_path)[0] == 0


@pytest.mark.parametrize("how", ["changed", "let go"])
def test_a_file_the_server_no_longer_keeps_is_freed_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """The server freezes what it keeps out of the collector's reach (`gc.freeze`), so what it lets
    go must be freed by its references alone: a model's manifest, with what it derived (capacity
    facts, findings: values that refer back to it), when its file changes or goes unread."""
    import gc
    import weakref

    from compiler.load.tree import DirectoryTree
    from compiler.pipeline import validate_repository
    from llmops.warm import memo

    monkeypatch.setattr(memo, "_kept", None)
    kept = memo.keep_sources()
    estate = copy_bundled_estate(tmp_path / "estate")
    model_file = "environments/_shared/catalog/example-base-model.yaml"
    assert not validate_repository(DirectoryTree(estate), None, sources=kept).error_count
    kept_file = kept._files[model_file][1]
    assert kept_file.manifests is not None
    (model,) = kept_file.manifests[1]
    assert model._derived  # type: ignore[attr-defined]  # the checks derived its facts
    manifest = weakref.ref(model)
    del model, kept_file
    gc.collect()
    gc.disable()
    try:
        if how == "changed":
            path = estate / model_file
            path.write_text(path.read_text() + "# changed\n")
            validate_repository(DirectoryTree(estate), None, sources=kept)
        else:
            for _ in range(memo.KEEP_COMMANDS + 1):
                kept.command_done()
        assert manifest() is None
    finally:
        gc.enable()


def test_a_stop_signal_lost_while_the_server_starts_still_ends_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM's handler raises to end the server; raised while Python runs a finalizer or a
    weakref's callback (the server's start-up collects its imports' garbage), the exception is
    only printed and lost. The server must still end, not wait for commands until it idles out
    (once in a CI run it outlived the test's 60 s)."""
    import contextlib
    import signal as signals
    from collections.abc import Callable

    from llmops.cli import warm_server
    from llmops.warm import memo

    handlers: dict[int, Callable[[int, object], None]] = {}

    def record(number: int, handler: Callable[[int, object], None]) -> None:
        handlers[number] = handler  # this process's own handlers stay as they are

    monkeypatch.setattr(signals, "signal", record)
    monkeypatch.setattr(warm_server._Command, "stop_after", False)
    monkeypatch.setattr(memo, "_kept", None)

    def start_up_losing_the_signal() -> memo.KeptSources:
        with contextlib.suppress(warm_server._Stop):  # as a finalizer running then would lose it
            handlers[signals.SIGTERM](signals.SIGTERM, None)
        return memo.keep_sources()

    monkeypatch.setattr(warm_server, "_prepare", start_up_losing_the_signal)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "s.sock"))
    listener.listen(1)
    listener.settimeout(30)
    started = time.monotonic()
    try:
        log = warm_server._Log(tmp_path / "log")
        ending = warm_server._serve_commands(listener, log, 30, lambda: True)
    finally:
        listener.close()
    assert ending == "stopped by a signal after 0 commands"
    assert time.monotonic() - started < 10


def test_the_log_says_why_before_the_client_or_anyone_else_can_see_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A declined command reads the log once it has its answer, and whoever finds the socket gone
    reads why the server ended: each line is written before what it explains can be seen (under
    load a CI run read the log between the answer and the line)."""
    from llmops.cli import warm_server

    events: list[str] = []

    class RecordingLog(warm_server._Log):
        def write(self, line: str, *, always: bool = False) -> None:
            events.append(f"log {line}")
            super().write(line, always=always)

    sent = wire.send_answer

    def recorded_answer(connection: socket.socket, answer: dict[str, object]) -> None:
        events.append(f"answer {answer.get('declined')}")
        sent(connection, answer)

    monkeypatch.setattr(wire, "peer_is_self", lambda connection: True)
    monkeypatch.setattr(wire, "send_answer", recorded_answer)
    server_side, client_side = socket.socketpair()
    with server_side, client_side:
        from llmops.warm.client import _request

        body = {**json.loads(_request(["validate"]) or b"{}"), "installation": {"llmops": "/x"}}
        wire.send_request(client_side, wire.encode_request(body))
        log = RecordingLog(tmp_path / "server.log")
        outcome = warm_server._handle(server_side, dict(os.environ), {}, None, log)
    assert outcome == "another installation of llmops"
    assert events == [
        "log declined: another installation of llmops",
        "answer another installation of llmops",
    ]

    events.clear()
    socket_path = tmp_path / "sockets" / "s.sock"
    monkeypatch.setattr(warm_server, "_Log", RecordingLog)
    monkeypatch.setattr(warm_server, "_serve_commands", lambda *args: "served 0 commands")
    unlink = Path.unlink

    def recorded_unlink(path: Path, missing_ok: bool = False) -> None:
        if path == socket_path:
            events.append("socket removed")
        unlink(path, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", recorded_unlink)
    assert warm_server.serve(socket_path, 30) == 0
    assert events[-2:] == ["log ended: served 0 commands", "socket removed"]
