"""mypy, as CI configures it, run on a few lines: for tests of what the type checker catches
(typed manifests, read-only records), which no run-time test can see."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.estate import PROJECT_ROOT


@dataclass
class MypyRun:
    """What mypy said: its output, exit code, and each ``(line, message)`` it reported."""

    stdout: str
    returncode: int
    found: list[tuple[int, str]]


def run_mypy(tmp_path: Path, lines: list[str], severity: str = r"\w+") -> MypyRun:
    """mypy on ``lines`` as one module, with the project's configuration and a private cache
    (a cold run takes about 5 s). ``severity`` picks the reports kept (``error``, ``note``)."""
    snippet = tmp_path / "snippet.py"
    snippet.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(PROJECT_ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--no-error-summary",
            str(snippet),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    pattern = rf"snippet\.py:(\d+): {severity}: (.*)"
    found = [(int(match.group(1)), match.group(2)) for match in re.finditer(pattern, run.stdout)]
    return MypyRun(run.stdout, run.returncode, found)
