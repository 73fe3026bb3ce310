"""What a command prints leaves the process whole, or the command fails: the installed program with
its standard output on a pipe whose reader is late and that does not block (the text layer would
drop what an unbuffered stream did not take), on a full disk (the error used to come as the
interpreter exited, after the command had succeeded), on a pipe whose reader is gone, and closed.
A render's stream is what Argo CD applies: cut short, it must never end in success. Each case runs
with `PYTHONUNBUFFERED` (as the project's image sets it) and without."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from benchmarks.generate_estate import generate_estate
from llmops.stream_output import WholeWrites
from tests.helpers.estate import copy_bundled_estate

pytestmark = pytest.mark.slow  # every test starts the program

LLMOPS = Path(sys.executable).with_name("llmops")
BUFFERING = pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])


def _environment(unbuffered: bool) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    return {**env, "PYTHONUNBUFFERED": "1"} if unbuffered else env


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Half a megabyte of rendered objects: far more than a pipe holds (64 KiB)."""
    root = tmp_path_factory.mktemp("standard-output") / "estate"
    generate_estate(root, 20)
    return root


def _commands(estate: Path, cache: Path) -> dict[str, list[str]]:
    return {
        "render, no cache": ["render", str(estate), "--cache-dir", "off"],
        "render, from the cache": ["render", str(estate), "--cache-dir", str(cache)],
        "rules as JSON": ["rules", "--format", "json"],
    }


def _run_into(
    argv: list[str], env: dict[str, str], stdout: int
) -> subprocess.CompletedProcess[str]:
    """``llmops ARGV`` with its standard output on the descriptor ``stdout``."""
    return subprocess.run(
        [str(LLMOPS), *argv], env=env, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120
    )


def _read_late(argv: list[str], env: dict[str, str]) -> tuple[int, bytes, bytes]:
    """Run ``llmops ARGV`` with its standard output on a non-blocking pipe nobody reads for half a
    second; then read all of it."""
    reader, writer = os.pipe()
    fcntl.fcntl(writer, fcntl.F_SETFL, fcntl.fcntl(writer, fcntl.F_GETFL) | os.O_NONBLOCK)
    process = subprocess.Popen([str(LLMOPS), *argv], stdout=writer, stderr=subprocess.PIPE, env=env)
    os.close(writer)
    time.sleep(0.5)
    chunks = []
    while chunk := os.read(reader, 1 << 16):
        chunks.append(chunk)
    os.close(reader)
    assert process.stderr is not None
    errors = process.stderr.read()
    return process.wait(timeout=120), b"".join(chunks), errors


@BUFFERING
def test_output_on_a_pipe_that_does_not_block_arrives_whole(
    estate: Path, tmp_path: Path, unbuffered: bool
) -> None:
    env = _environment(unbuffered)
    commands = _commands(estate, tmp_path / "cache")
    subprocess.run(
        [str(LLMOPS), *commands["render, from the cache"]], env=env, check=True, capture_output=True
    )  # fills the cache
    for name, argv in commands.items():
        expected = subprocess.run([str(LLMOPS), *argv], env=env, capture_output=True, check=True)
        assert len(expected.stdout) > 4 * (1 << 16), name
        code, written, errors = _read_late(argv, env)
        assert (code, errors) == (0, expected.stderr), name
        assert written == expected.stdout, f"{name}: {len(written)} of {len(expected.stdout)} bytes"


@BUFFERING
def test_a_full_disk_fails_the_command(estate: Path, tmp_path: Path, unbuffered: bool) -> None:
    env = _environment(unbuffered)
    commands = _commands(estate, tmp_path / "cache")
    subprocess.run(
        [str(LLMOPS), *commands["render, from the cache"]], env=env, check=True, capture_output=True
    )
    # a short output waits in a buffer until the command returns
    for name, argv in {**commands, "the version": ["--version"]}.items():
        with open("/dev/full", "w") as full:
            done = _run_into(argv, env, full.fileno())
        assert done.returncode == 2, name
        assert "No space left on device" in done.stderr, name
        assert "standard output" in done.stderr or "cannot write the output" in done.stderr, name
        assert "Exception ignored" not in done.stderr and "Traceback" not in done.stderr, name


@BUFFERING
def test_a_reader_that_went_away_ends_the_command_quietly(
    estate: Path, tmp_path: Path, unbuffered: bool
) -> None:
    env = _environment(unbuffered)
    commands = {**_commands(estate, tmp_path / "cache"), "the version": ["--version"]}
    for name, argv in commands.items():
        reader, writer = os.pipe()
        os.close(reader)
        done = _run_into(argv, env, writer)
        os.close(writer)
        assert (done.returncode, done.stderr) == (0, ""), name


def test_a_closed_standard_output_is_an_error(estate: Path) -> None:
    done = subprocess.run(
        [str(LLMOPS), "render", str(estate), "--cache-dir", "off"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.close(1),
    )
    assert done.returncode == 2
    assert done.stderr == "llmops: error: standard output is closed: nothing can be printed\n"


def test_whole_writes_take_every_byte_of_a_pipe_that_does_not_block() -> None:
    reader, writer = os.pipe()
    os.set_blocking(writer, False)
    data = bytes(range(256)) * 4096  # 1 MiB: sixteen times what the pipe holds
    received: list[bytes] = []

    def read_late() -> None:
        time.sleep(0.2)
        while chunk := os.read(reader, 1 << 16):
            received.append(chunk)

    thread = threading.Thread(target=read_late)
    thread.start()
    assert WholeWrites(writer).write(data) == len(data)
    os.close(writer)
    thread.join(timeout=30)
    os.close(reader)
    assert b"".join(received) == data


def _read_terminal(argv: list[str], env: dict[str, str]) -> bytes:
    """What ``llmops ARGV`` prints on a terminal (a pseudo-terminal it is started on)."""
    pid, terminal = pty.fork()
    if pid == 0:  # the child: the program, its output on the terminal
        os.execve(str(LLMOPS), [str(LLMOPS), *argv], env)
    chunks = []
    while True:
        try:
            chunk = os.read(terminal, 1 << 16)
        except OSError:  # the program ended and closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.waitpid(pid, 0)
    os.close(terminal)
    return b"".join(chunks)


@BUFFERING
def test_a_terminal_is_still_a_terminal(tmp_path: Path, unbuffered: bool) -> None:
    """Diagnostics are coloured on a terminal (and only there): the standard output that takes
    every byte still says it writes to one."""
    estate = copy_bundled_estate(tmp_path / "estate")
    serving = sorted((estate / "environments" / "dev" / "serving").glob("*.yaml"))[0]
    text = serving.read_text(encoding="utf-8")
    serving.write_text(
        re.sub(r"(?m)^(\s*modelId:) .*$", r"\1 no-such-model@9.9", text), encoding="utf-8"
    )
    env = {key: value for key, value in _environment(unbuffered).items() if key != "NO_COLOR"}
    on_terminal = _read_terminal(["validate", str(estate)], env)
    assert b"no-such-model" in on_terminal and b"\x1b[" in on_terminal
    piped = subprocess.run(
        [str(LLMOPS), "validate", str(estate)], env=env, capture_output=True, timeout=120
    )
    assert b"no-such-model" in piped.stdout + piped.stderr
    assert b"\x1b[" not in piped.stdout + piped.stderr


def test_whole_writes_name_their_descriptor_as_it_was_named() -> None:
    reader, writer = os.pipe()
    primary, secondary = os.openpty()
    try:
        assert not WholeWrites(writer).isatty()
        assert WholeWrites(secondary, "<stdout>").isatty()
        assert WholeWrites(secondary, "<stdout>").name == "<stdout>"
        assert WholeWrites(writer).name == writer
    finally:
        for descriptor in (reader, writer, primary, secondary):
            os.close(descriptor)
