"""The pipeline's arrows point one way, and the core stays pure (no git, network, clock or CLI).

Every top-level module and package of the core is classified in `MAY_IMPORT` with the parts of the
core it may use; a new one fails `test_every_part_of_the_core_is_classified` until it is added.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tests.helpers.estate import PROJECT_ROOT

COMPILER = PROJECT_ROOT / "compiler"
VOCABULARY = ("positions", "errors", "printable", "diagnostics", "spelling", "records")
# Top-level part of compiler/ -> the parts (or single modules: `capacity.presets`) it may import.
# The pipeline runs load -> spec -> resolve -> check; capacity and target feed check and render;
# render never uses check; emit, report and diff only read what the stages before them produced.
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    # the vocabulary every stage shares
    "positions": ("records",),
    "errors": (),
    "printable": (),
    "spelling": (),
    # frozen dataclasses to the type checker (compiler/records.py)
    "records": (),
    "diagnostics": ("positions", "records"),
    # facts about the rendered objects, shared by check, capacity and render
    "target": ("records",),
    # the stages
    "load": VOCABULARY,
    # the model presets and GPU products a spec may name (tables, no arithmetic)
    "spec": (*VOCABULARY, "load", "capacity.presets", "capacity.gpus", "target.training_contract"),
    "resolve": (*VOCABULARY, "load", "spec"),
    "capacity": (*VOCABULARY, "load", "spec", "resolve", "target"),
    # the registry lists every rule, the decide stage's own declarations (decide.rules) too
    # K009 measures the proxy's configuration and a training job's as render writes them (no
    # templates, no Jinja)
    "check": (
        *VOCABULARY,
        "load",
        "spec",
        "resolve",
        "capacity",
        "target",
        "decide.rules",
        "render.proxy_config",
        "render.context",
        "render.json_text",
        "render.trainer_config",
    ),
    "render": (*VOCABULARY, "load", "spec", "resolve", "capacity", "target"),
    "emit": (*VOCABULARY, "load"),
    "report": VOCABULARY,
    # the canaries' replicas and GPUs are capacity arithmetic (compiler/capacity/canary.py)
    "diff": (*VOCABULARY, "load", "spec", "resolve", "capacity", "render"),
    # rule settings and suppressions, applied to what the checks found
    "decide": (*VOCABULARY, "load", "spec", "resolve", "check"),
    # the garbage collector paused while a command builds what it keeps (no compiler imports)
    "collector": (),
    # the driver of the front half
    "pipeline": (*VOCABULARY, "load", "spec", "resolve", "check", "decide", "collector"),
    # `llmops render` as one pure function: the pipeline, then render and emit
    "build": (*VOCABULARY, "load", "pipeline", "render", "emit"),
}
# The edges' libraries (pyproject.toml: GitPython, the status, proxy and conform extras, and the
# CLI): imported by commands that need them, never by the core.
HEAVY_DEPENDENCIES = (
    "aiohttp",
    "prometheus_client",
    "uvloop",
    "gitdb",
    "git",
    "kubernetes",
    "kubernetes_validate",
    "jsonschema",
    "referencing",
    "openai",
    "click",
)
# What the core may not do: reach the edges, the network, other processes, the clock or chance.
NEVER_IN_CORE = (
    "llmops",
    *HEAVY_DEPENDENCIES,
    "socket",
    "urllib.request",
    "http.client",
    "subprocess",
    "time",
    "datetime",
    "random",
)
# The only libraries beside the standard library the core may import (pyproject's dependencies,
# less GitPython, plus the typing helpers pydantic brings).
CORE_LIBRARIES = (
    "yaml",
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "jinja2",
    "typing_extensions",
)


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            # `from compiler.capacity import presets` imports the module compiler.capacity.presets
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def core_parts() -> set[str]:
    """The top-level modules and packages of compiler/."""
    return {
        path.name.removesuffix(".py")
        for path in COMPILER.iterdir()
        if (path.suffix == ".py" and path.name != "__init__.py")
        or (path.is_dir() and (path / "__init__.py").exists())
    }


def part_of(path: Path) -> str:
    return path.relative_to(COMPILER).parts[0].removesuffix(".py")


def names(name: str, banned: str) -> bool:
    return name == banned or name.startswith(banned + ".")


def test_every_part_of_the_core_is_classified() -> None:
    assert core_parts() == set(MAY_IMPORT)


@pytest.mark.parametrize("path", modules(COMPILER), ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_core_module_is_pure(path: Path) -> None:
    bad = sorted(
        name for name in imports_of(path) if any(names(name, banned) for banned in NEVER_IN_CORE)
    )
    assert bad == [], f"{path.relative_to(PROJECT_ROOT)} imports {bad}"


@pytest.mark.parametrize("path", modules(COMPILER), ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_core_module_uses_only_the_core_libraries(path: Path) -> None:
    top_levels = {name.split(".")[0] for name in imports_of(path)}
    bad = sorted(
        top
        for top in top_levels
        if top not in sys.stdlib_module_names and top not in (*CORE_LIBRARIES, "compiler")
    )
    assert bad == [], f"{path.relative_to(PROJECT_ROOT)} imports {bad}"


@pytest.mark.parametrize("part", sorted(MAY_IMPORT))
def test_pipeline_imports_point_one_way(part: str) -> None:
    allowed = (part, *MAY_IMPORT[part])
    offenders = []
    for path in modules(COMPILER):
        if part_of(path) != part:
            continue
        for name in imports_of(path):
            inside = name.removeprefix("compiler.")
            if not name.startswith("compiler.") or inside.split(".")[0] not in MAY_IMPORT:
                continue  # not a part of the core (or an imported name, not a module)
            if not any(names(inside, prefix) for prefix in allowed) and not any(
                names(prefix, inside) for prefix in allowed
            ):
                offenders.append(f"{path.relative_to(PROJECT_ROOT)} -> {name}")
    assert offenders == []


def test_only_the_command_line_imports_the_command_line() -> None:
    """The commands sit on top: the proxy, git workflows, status and the core share code through
    modules beside them (llmops/estate.py, llmops/reporting.py), never by importing a command."""
    outside = [
        path
        for path in [*modules(PROJECT_ROOT / "llmops"), *modules(COMPILER)]
        if PROJECT_ROOT / "llmops" / "cli" not in path.parents
    ]
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)} -> {name}"
        for path in outside
        for name in sorted(imports_of(path))
        if name == "llmops.cli" or name.startswith("llmops.cli.")
    ]
    assert offenders == []


def _module_level_names(tree: ast.Module) -> set[str]:
    """The functions, classes, assignments and imports a module defines at its top level."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(target.id for target in targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _derived_by_a_defined_function(argument: ast.expr, defined: set[str]) -> bool:
    """A module's own function (or an entry of one of its tables of them), not a lambda or a
    function made in a call."""
    if isinstance(argument, ast.Subscript):
        argument = argument.value
    return isinstance(argument, ast.Name) and argument.id in defined


@pytest.mark.parametrize("path", modules(COMPILER), ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_what_a_manifest_derives_is_keyed_by_a_function_defined_once(path: Path) -> None:
    """`Manifest.derived(compute)` keeps what ``compute`` returned, keyed by ``compute``, for as
    long as the manifest lives (in the warm server, as long as its file is unchanged). A lambda or
    a function made in the call is a new key each time: it would never be found again, and each
    call would keep one more value (a server's memory growing with every command). A module-level
    function also cannot close over the environment, which a derived value must not read."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    defined = _module_level_names(tree)
    bad = [
        f"line {node.lineno}: {ast.unparse(node.args[0]) if node.args else '(no argument)'}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "derived"
        and not (len(node.args) == 1 and _derived_by_a_defined_function(node.args[0], defined))
    ]
    assert bad == [], f"{path.relative_to(PROJECT_ROOT)} derives with {bad}"
