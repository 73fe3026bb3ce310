"""A base install (`make run`) lacks the optional extras: each command that needs one says which
package is missing and how to install the extra (exit 2), never a traceback, and `render --verify`
refuses before it renders, prints or writes anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.estate import PROJECT_ROOT, copy_bundled_estate


def run_without(
    blocked: tuple[str, ...], *argv: str, cwd: Path
) -> subprocess.CompletedProcess[str]:
    """`llmops ARGV` in a process where importing any of ``blocked`` fails, as on a base install."""
    script = (
        "import sys\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        "from llmops.cli.main import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "LLMOPS_CACHE_DIR": "off"}
    return subprocess.run(
        [sys.executable, "-c", script, *argv],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("blocked", "argv", "missing", "extra"),
    [
        (("urllib3",), ["status"], "urllib3", "status"),  # imported before kubernetes
        (("kubernetes",), ["status"], "kubernetes", "status"),
        (("aiohttp",), ["proxy", "--env", "dev", "--port", "0"], "aiohttp", "proxy"),
        (("kubernetes_validate",), ["render", "--verify"], "kubernetes_validate", "conform"),
        (("jsonschema",), ["render", "-o", "out", "--verify"], "jsonschema", "conform"),
    ],
)
def test_a_missing_extra_is_named_with_how_to_install_it(
    tmp_path: Path, blocked: tuple[str, ...], argv: list[str], missing: str, extra: str
) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    done = run_without(blocked, *argv, cwd=estate)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert f"needs {missing}, which is not installed" in done.stderr
    assert "`make extras`" in done.stderr and f"pip install 'llmops[{extra}]'" in done.stderr
    assert done.stdout == ""
    assert not (estate / "out").exists()
