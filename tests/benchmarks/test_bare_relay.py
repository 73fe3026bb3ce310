"""The bare relay `make bench-proxy` measures as Python's floor (benchmarks/bare_relay.py) does the
whole of a relay: a floor that answered early or dropped bytes would make the proxy's gap look
larger than it is."""

from __future__ import annotations

import http.client
import subprocess
import sys

import pytest

from benchmarks import bench_proxy
from tests.helpers.estate import PROJECT_ROOT


def _post(port: int, path: str, body: bytes) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for _ in range(2):  # the second request reuses both connections
            connection.request("POST", path, body, {"Content-Type": "application/json"})
            answer = connection.getresponse()
            status, data = answer.status, answer.read()
        return status, data
    finally:
        connection.close()


@pytest.mark.slow
def test_the_bare_relay_hands_on_every_byte_of_whole_and_streamed_answers() -> None:
    pytest.importorskip("uvloop")
    backend_port, relay_port = bench_proxy.free_port(), bench_proxy.free_port()
    processes = [
        subprocess.Popen(
            [sys.executable, "benchmarks/bench_proxy.py", "--serve-backend", str(backend_port)],
            cwd=PROJECT_ROOT,
        ),
        subprocess.Popen(
            [sys.executable, "benchmarks/bare_relay.py", str(backend_port), str(relay_port)],
            cwd=PROJECT_ROOT,
        ),
    ]
    try:
        bench_proxy.wait_for(f"http://127.0.0.1:{backend_port}/v1/models/bench")
        bench_proxy.wait_for_port(relay_port)
        for stream in (False, True):
            body = bench_proxy.request_body(stream)
            direct = _post(backend_port, "/openai/v1/chat/completions", body)
            relayed = _post(relay_port, "/llm-ops/v1/serve/bench/v1/chat/completions", body)
            assert relayed == direct
            assert direct[0] == 200
            assert direct[1] == (
                bench_proxy.CHUNK * 8 + b"data: [DONE]\n\n" if stream else bench_proxy.ANSWER
            )
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=15)
