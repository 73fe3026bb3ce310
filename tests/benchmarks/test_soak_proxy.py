"""The soak of hostile and valid traffic (benchmarks/soak_proxy.py), small: memory stays flat, no
answer is a 500, and the proxy logs no traceback. The full run (50,000 requests) is `python
benchmarks/soak_proxy.py`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers.estate import PROJECT_ROOT


@pytest.mark.slow
def test_a_small_soak_keeps_memory_flat() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "benchmarks/soak_proxy.py",
            "--requests",
            "3000",
            "--sample",
            "1000",
            "--warmup",
            "1000",
            "--max-growth-mib",
            "15",
            "--check",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    statuses = next(
        line for line in result.stdout.splitlines() if line.startswith("answers by status:")
    )
    # no internal error, no broken connection
    assert " 500:" not in statuses and "{0:" not in statuses
