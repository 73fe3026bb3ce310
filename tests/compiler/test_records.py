"""`record` (compiler/records.py): what a frozen dataclass gave, less the run-time guard.

Records compare, hash, print and `replace` as frozen dataclasses do; assigning to a field is
rejected by mypy, run here on a small snippet (a cold run takes about 5 s).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace
from pathlib import Path

from compiler.diagnostics import Diagnostic
from compiler.positions import Span
from compiler.records import record
from compiler.resolve.manifest import Manifest
from tests.helpers.estate import PROJECT_ROOT
from tests.helpers.mypy_snippet import run_mypy


@record
class Point:
    x: int
    y: int = 0


@dataclass(frozen=True)
class FrozenPoint:
    x: int
    y: int = 0


@record(eq=False)
class Handle:
    name: str


@record(slots=True)
class Slotted:
    x: int


def test_a_record_compares_hashes_and_prints_as_a_frozen_dataclass() -> None:
    assert Point(1, 2) == Point(1, 2) != Point(1, 3)
    assert hash(Point(1, 2)) == hash(Point(1, 2)) == hash(FrozenPoint(1, 2))
    assert {Point(1, 2), Point(1, 2), Point(2)} == {Point(1, 2), Point(2, 0)}
    assert repr(Point(1, 2)) == "Point(x=1, y=2)"
    assert replace(Point(1, 2), y=5) == Point(1, 5)
    assert Point(1) != FrozenPoint(1)


def test_a_record_that_does_not_compare_by_fields_hashes_by_identity() -> None:
    first, second = Handle("a"), Handle("a")
    assert first != second
    assert len({first, second, first}) == 2


def test_a_slotted_record_has_slots() -> None:
    assert Slotted.__slots__ == ("x",)
    assert not hasattr(Slotted(1), "__dict__")


def test_records_have_no_generated_guard() -> None:
    """The point of a record: no `__setattr__`/`__delattr__` compiled for each class."""
    assert "__setattr__" in vars(FrozenPoint)
    for cls in (Point, Handle, Slotted, Span, Diagnostic, Manifest):
        assert "__setattr__" not in vars(cls), cls
        assert "__delattr__" not in vars(cls), cls


def test_mypy_rejects_assigning_to_a_record_field(tmp_path: Path) -> None:
    lines = [
        "from compiler.positions import Span",
        "",
        'span = Span("a.yaml", 1, 1)',
        "span.line = 2",
        "print({span}, span == span)",
    ]
    run = run_mypy(tmp_path, lines, severity="error")
    found = run.found
    assert [line for line, _ in found] == [4], run.stdout
    assert 'Property "line" defined in "Span" is read-only' in found[0][1]
    assert run.returncode == 1


def frozen_dataclasses(folder: Path) -> list[str]:
    """`file:line` of every class decorated `@dataclass(frozen=True, ...)` under ``folder``."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef):
                continue
            for decorator in node.decorator_list:
                if (
                    isinstance(decorator, ast.Call)
                    and getattr(decorator.func, "id", getattr(decorator.func, "attr", ""))
                    == "dataclass"
                    and any(
                        keyword.arg == "frozen"
                        and isinstance(keyword.value, ast.Constant)
                        and keyword.value.value is True
                        for keyword in decorator.keywords
                    )
                ):
                    found.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")
    return found


def test_the_compiler_and_the_cli_declare_records_not_frozen_dataclasses() -> None:
    """The trainer (llmops/train/, its own image, started once per job) is left as it is."""
    places = frozen_dataclasses(PROJECT_ROOT / "compiler") + [
        place
        for place in frozen_dataclasses(PROJECT_ROOT / "llmops")
        if not place.startswith("llmops/train/")
    ]
    assert places == []
