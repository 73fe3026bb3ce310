"""`llmops proxy --workers N` as an operator meets it: the port is its alone, its workers never
outlive it nor serve on short of one, and a worker that will not stop cannot keep it from ending.
Real processes, real signals, loopback only."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from llmops.proxy.server import KILL_AFTER_SECONDS
from tests.helpers.estate import PROJECT_ROOT
from tests.helpers.loopback import free_port, wait_until


def _command(port: int, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "llmops.cli.main",
        "proxy",
        str(PROJECT_ROOT),
        "--env",
        "dev",
        "--backend",
        "example-model=http://127.0.0.1:1",
        "--workers",
        "2",
        "--port",
        str(port),
        *extra,
    ]


@contextmanager
def workers_proxy(
    port: int, temporary: Path | None = None, *extra: str
) -> Iterator[tuple[subprocess.Popen[str], list[int]]]:
    """The proxy with two workers, once both listen (``temporary``: its TMPDIR; ``extra``: more
    options); yields it and its workers' pids. Whatever the test did, nothing of it is left running
    after."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    if temporary is not None:
        env["TMPDIR"] = str(temporary)
    process = subprocess.Popen(
        _command(port, *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
        env=env,
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    workers = _children(process.pid)
    try:
        assert " on http://" in first, first
        assert len(workers) == 2
        yield process, workers
    finally:
        for pid in [process.pid, *workers]:
            for sent in (signal.SIGCONT, signal.SIGKILL):
                try:
                    os.kill(pid, sent)
                except ProcessLookupError:
                    break
        process.communicate(timeout=30)


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _running(pid: int) -> bool:
    """Alive and not a zombie (a worker whose parent was killed is reaped by init)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
def test_a_port_another_program_shares_with_so_reuseport_is_in_use(tmp_path: Path) -> None:
    """Workers listen with SO_REUSEPORT; a listener that set it too (another program, or another
    llmops with workers) would share the port and its connections, so it is refused."""
    port = free_port()

    def refused_as_in_use() -> None:
        done = subprocess.run(
            _command(port),
            capture_output=True,
            text=True,
            cwd=PROJECT_ROOT,
            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "TMPDIR": str(tmp_path)},
            timeout=60,
            check=False,
        )
        assert done.returncode == 2, done.stderr
        assert f"cannot listen on 127.0.0.1:{port}" in done.stderr

    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        refused_as_in_use()
    with workers_proxy(port, tmp_path):  # and a second proxy beside a first
        refused_as_in_use()


@pytest.mark.slow
@pytest.mark.parametrize("sent", [signal.SIGKILL, signal.SIGHUP])
def test_the_workers_end_with_the_process_that_started_them(
    sent: signal.Signals, tmp_path: Path
) -> None:
    """Killed outright, or hung up on: no worker serves on, unseen, on the port."""
    port = free_port()
    with workers_proxy(port, tmp_path) as (process, workers):
        os.kill(process.pid, sent)
        assert process.wait(timeout=30) == (-signal.SIGKILL if sent == signal.SIGKILL else 0)
        assert wait_until(lambda: not any(map(_running, workers)), timeout=20)
        assert not _listening(port)


@pytest.mark.slow
@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_a_worker_stopped_alone_stops_the_proxy_and_says_so(
    sent: signal.Signals, tmp_path: Path
) -> None:
    """Whichever way one worker ends (a clean exit after its own SIGTERM too), the proxy does not
    serve on short of it: it stops the others, logs which worker ended and how, and exits 1."""
    port = free_port()
    with workers_proxy(port, tmp_path) as (process, workers):
        os.kill(workers[0], sent)
        assert process.wait(timeout=30) == 1
        assert process.stderr is not None
        log = process.stderr.read()
        how = "signal SIGKILL" if sent == signal.SIGKILL else "exit code 0"
        assert f"worker {workers[0]} ended ({how}) while serving: stopping the others" in log
        assert not any(map(_running, workers))


@pytest.mark.slow
def test_a_worker_that_will_not_stop_is_killed(tmp_path: Path) -> None:
    """A stopped (or hung) worker ignores SIGTERM: after the grace period it is killed, and the
    proxy ends instead of waiting for ever."""
    port = free_port()
    with workers_proxy(port, tmp_path) as (process, workers):
        os.kill(workers[0], signal.SIGSTOP)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=KILL_AFTER_SECONDS + 20) == 0
        assert time.monotonic() - started >= KILL_AFTER_SECONDS - 1
        assert process.stderr is not None
        assert f"worker {workers[0]} did not stop within" in process.stderr.read()
        assert not any(map(_running, workers))


@pytest.mark.slow
def test_a_hung_worker_is_killed_and_stops_the_proxy(tmp_path: Path) -> None:
    """A worker whose event loop stopped running (here: SIGSTOP) still holds its listening
    socket, so the kernel goes on handing it connections nobody answers. Once its heartbeat has
    been silent for --worker-timeout it is killed, and the proxy stops (exit 1) for a restart; a
    worker that is merely idle is never taken for hung."""
    port = free_port()
    with workers_proxy(port, tmp_path, "--worker-timeout", "2") as (process, workers):
        time.sleep(4)  # idle workers beat on, twice the timeout
        assert process.poll() is None
        assert all(map(_running, workers))
        os.kill(workers[0], signal.SIGSTOP)
        started = time.monotonic()
        assert process.wait(timeout=30) == 1
        assert time.monotonic() - started >= 2
        assert process.stderr is not None
        log = process.stderr.read()
        assert f"worker {workers[0]} has not run its event loop for 2 s (hung, or stopped)" in log
        assert f"worker {workers[0]} ended (signal SIGKILL) while serving" in log
        assert not any(map(_running, workers))
        assert not _listening(port)


@pytest.mark.slow
def test_metrics_whose_folder_was_removed_say_so(tmp_path: Path) -> None:
    """A clean-up of /tmp removed the folder the workers share their metrics in: `/metrics`
    answered 500 (an internal error) on every scrape; now 503 saying what happened and what to do,
    while the proxy goes on serving."""
    import shutil
    import urllib.error
    import urllib.request

    port = free_port()
    with workers_proxy(port, temporary=tmp_path) as (_, workers):
        for _ in range(4):  # counted (a 502: no model server), so each worker has value files
            chat = urllib.request.Request(
                f"http://127.0.0.1:{port}/llm-ops/v1/serve/example-model/chat",
                data=b'{"messages": [{"role": "user", "content": "Hi"}]}',
                headers={"Content-Type": "application/json", "X-User-Id": "u1"},
            )
            with pytest.raises(urllib.error.HTTPError):
                urllib.request.urlopen(chat, timeout=10)

        # the folder holding a worker's value files (prometheus_client's `*_PID.db`; counted as
        # the answer ends, so perhaps a moment after the client has it)
        def holding() -> list[Path]:
            return [
                candidate
                for candidate in tmp_path.glob("llmops-proxy-metrics-*")
                if any(any(candidate.glob(f"*_{pid}.db")) for pid in workers)
            ]

        assert wait_until(lambda: bool(holding()), timeout=20)
        folder = str(holding()[0])
        shutil.rmtree(folder)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10)
        assert refused.value.code == 503
        said = refused.value.read().decode()
        assert f"the workers' metrics folder {folder} was removed" in said and "restart" in said
        health = f"http://127.0.0.1:{port}/llm-ops/v1/health"
        with urllib.request.urlopen(health, timeout=10) as answer:
            assert answer.status == 200


def test_start_up_waits_for_every_worker_only_until_its_deadline() -> None:
    """A worker that hangs while it builds its application never tells it listens, nor closes the
    pipe: waiting for it ends at the deadline (the proxy then stops the workers), not never."""
    from llmops.proxy.server import _read_until

    listening, ready = os.pipe()
    try:
        os.write(ready, b"+")  # one of two workers listens; the other hangs, its end held open
        started = time.monotonic()
        assert _read_until(listening, 2, time.monotonic() + 0.3) == 1
        assert 0.3 <= time.monotonic() - started < 5
        os.write(ready, b"+")
        assert _read_until(listening, 1, time.monotonic() + 5) == 1
    finally:
        os.close(ready)
    assert _read_until(listening, 1, time.monotonic() + 5) == 0  # every writer gone: at once
    os.close(listening)


def test_only_a_heartbeat_that_stopped_is_silent() -> None:
    from llmops.proxy.heartbeat import Heartbeats

    beats = Heartbeats(3)
    try:
        beats.beat(0)
        beats.beat(2)
        now = time.monotonic()
        assert beats.silent(30, now) == []  # worker 1 has not started beating: not yet watched
        assert beats.silent(30, now + 31) == [0, 2]
        beats.beat(2)
        assert beats.silent(30, beats.last(2) + 29) == []
    finally:
        beats.close()


def test_a_worker_told_to_stop_before_it_listens_logs_no_broken_pipe() -> None:
    """When the waiting process stopped waiting (a fork refused, start-up past its deadline), a
    worker that then says it listens finds the pipe closed: no error of its own to report (it was
    logged as `worker N stopped: BrokenPipeError`, misleading the reader about the cause)."""
    from llmops.proxy.server import _tell

    listening, ready = os.pipe()
    os.close(listening)
    _tell(ready)  # raises nothing, and closes its end
    with pytest.raises(OSError):
        os.fstat(ready)
