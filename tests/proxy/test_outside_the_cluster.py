"""Run outside the cluster, `llmops proxy --env ENV` relays to in-cluster Service names that do not
resolve: it says so when it starts, and a request's 502 says how to point the endpoint elsewhere."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from llmops.proxy.upstream import _fault
from llmops.proxy.upstream_pool import ConnectFailed
from tests.helpers.estate import PROJECT_ROOT, copy_bundled_estate


def banner(estate: Path, *argv: str) -> str:
    """What `llmops proxy --env dev` prints before it serves (up to its endpoints and notes)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "llmops.cli.main", "proxy", "--env", "dev", "--port", "0", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=estate,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    assert process.stdout is not None
    lines = []
    try:
        while True:
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else "the proxy ended"
            lines.append(line)
            if "/llm-ops/v1/serve/example-model ->" in line:
                break
    finally:
        # the banner is printed in one step of the event loop, which handles SIGTERM only after
        # it. What follows the endpoints is read through the same reader: `communicate` reads the
        # pipe itself and would miss the lines already in the reader's buffer.
        process.send_signal(signal.SIGTERM)
        rest = process.stdout.read()
        process.wait(timeout=30)
    return "".join(lines) + rest


def test_the_banner_says_in_cluster_addresses_need_a_backend_outside(tmp_path: Path) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    shown = banner(estate)
    assert "svc.cluster.local" in shown
    assert "note: the address above resolves only inside the cluster" in shown
    assert "--backend example-model=http://127.0.0.1:8080" in shown
    pointed = banner(estate, "--backend", "example-model=http://127.0.0.1:9")
    assert "http://127.0.0.1:9" in pointed and "note:" not in pointed


def test_a_name_that_does_not_resolve_in_the_cluster_names_the_way_out() -> None:
    who = "the model server of chat (http://chat-predictor.llm-ops-dev.svc.cluster.local)"
    unresolved = ConnectFailed(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    message = _fault(unresolved, who, 30).message
    assert message.startswith(f"cannot connect to {who}: Name or service not known")
    assert "start the proxy with --backend ENDPOINT=URL" in message
    refused = ConnectFailed(ConnectionRefusedError(111, "Connection refused"))
    assert "--backend" not in _fault(refused, who, 30).message
