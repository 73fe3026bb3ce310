"""The proxy's serving process pins glibc's mmap threshold (llmops/proxy/allocator.py), unless the
environment sets it: checked in a child process, so the test run's allocator is left alone."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = "from llmops.proxy.allocator import pin_mmap_threshold; print(pin_mmap_threshold())"


def _probe(extra: dict[str, str]) -> str:
    env = {key: value for key, value in os.environ.items() if key != "MALLOC_MMAP_THRESHOLD_"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**env, **extra},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's setting")
def test_the_threshold_is_pinned_on_linux() -> None:
    assert _probe({}) == "True"


def test_the_environment_setting_is_left_to_rule() -> None:
    assert _probe({"MALLOC_MMAP_THRESHOLD_": "262144"}) == "False"
