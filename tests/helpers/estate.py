"""Temporary estates for tests: write files, copy the bundled example, run the CLI in-process."""

from __future__ import annotations

import contextlib
import io
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

from compiler.diagnostics import Diagnostic
from compiler.load.tree import DirectoryTree
from compiler.pipeline import ValidationResult, validate_repository

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write ``files`` (repo-relative path -> text, dedented, or bytes) under ``root``."""
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return root


def environment_settings(spec: str = "", name: str = "dev") -> str:
    """A small Environment manifest: its namespace and ingress, then ``spec``'s lines (indented
    two spaces, as under `spec:`)."""
    return (
        f"apiVersion: llmops.io/v1\nkind: Environment\nmetadata:\n  name: {name}\nspec:\n"
        f"  namespace: llm-ops-{name}\n  ingress:\n    host: {name}.llm-ops.local\n"
        f"    className: nginx\n{spec}"
    )


def copy_bundled_estate(destination: Path) -> Path:
    """A private copy of the bundled example (environments/ and the sample data it references)."""
    shutil.copytree(PROJECT_ROOT / "environments", destination / "environments")
    shutil.copytree(PROJECT_ROOT / "examples" / "datasets", destination / "examples" / "datasets")
    return destination


def validate(root: Path, env: str | None = None) -> ValidationResult:
    return validate_repository(DirectoryTree(root), env)


def codes(diagnostics: list[Diagnostic]) -> list[str]:
    return [d.code for d in diagnostics]


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


def run_cli(*argv: str) -> CliResult:
    """Run `llmops ARGV` in this process, capturing both streams separately."""
    from llmops.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return CliResult(code, out.getvalue(), err.getvalue())
