"""The pipeline's arrows point one way, and the core stays pure (no git, network, clock or CLI)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers.estate import PROJECT_ROOT

COMPILER = PROJECT_ROOT / "compiler"
# stage -> stages it must never import (STYLE: load -> spec -> resolve -> check; render never uses
# check)
FORBIDDEN = {
    "compiler/load": (
        "compiler.spec",
        "compiler.resolve",
        "compiler.check",
        "compiler.render",
        "compiler.report",
    ),
    "compiler/spec": ("compiler.resolve", "compiler.check", "compiler.render", "compiler.report"),
    "compiler/resolve": ("compiler.check", "compiler.render", "compiler.report"),
    "compiler/capacity": ("compiler.check", "compiler.render", "compiler.report"),
    "compiler/check": ("compiler.render", "compiler.report"),
    # rule settings and suppressions are applied to what the checks found
    "compiler/decide": ("compiler.render", "compiler.report"),
    "compiler/render": ("compiler.check", "compiler.report"),
    "compiler/report": (
        "compiler.load",
        "compiler.spec",
        "compiler.resolve",
        "compiler.check",
        "compiler.decide",
        "compiler.render",
    ),
}
NEVER_IN_CORE = (
    "llmops",
    "git",
    "kubernetes",
    "httpx",
    "fastapi",
    "openai",
    "kserve",
    "requests",
    "socket",
    "urllib.request",
    "http.client",
    "subprocess",
    "time",
    "datetime",
    "random",
    "click",
)


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


@pytest.mark.parametrize("path", modules(COMPILER), ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_core_module_is_pure(path: Path) -> None:
    bad = sorted(
        name
        for name in imports_of(path)
        if any(name == banned or name.startswith(banned + ".") for banned in NEVER_IN_CORE)
    )
    assert bad == [], f"{path.relative_to(PROJECT_ROOT)} imports {bad}"


@pytest.mark.parametrize("stage", sorted(FORBIDDEN))
def test_pipeline_imports_point_one_way(stage: str) -> None:
    offenders = []
    for path in modules(PROJECT_ROOT / stage):
        for name in imports_of(path):
            if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN[stage]):
                offenders.append(f"{path.relative_to(PROJECT_ROOT)} -> {name}")
    assert offenders == []
