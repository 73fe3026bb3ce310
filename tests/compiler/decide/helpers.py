"""Small estates for the rule-settings and suppression tests: a rule fixture, edited."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.helpers.estate import PROJECT_ROOT, CliResult, run_cli

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "rules"


def fixture(code: str, side: str, destination: Path) -> Path:
    """A private copy of a rule fixture (without its snapshot)."""
    root = destination / f"{code}-{side}"
    shutil.copytree(FIXTURES / code / side, root, ignore=shutil.ignore_patterns("expected.txt"))
    return root


def edit(root: Path, relative: str, old: str, new: str) -> None:
    path = root / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {relative}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def append(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def validate_json(root: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = run_cli("validate", str(root), "--format", "json", *args)
    document: dict[str, Any] = json.loads(result.stdout)
    return result.exit_code, document


def codes_of(document: dict[str, Any]) -> list[str]:
    return [entry["code"] for entry in document["diagnostics"]]


def text(root: Path, *args: str) -> CliResult:
    return run_cli("validate", str(root), *args)
