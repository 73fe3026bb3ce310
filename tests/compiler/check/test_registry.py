"""The rule registry: one entry per code and name, every rule in a category, every check
registered."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import compiler.check
from compiler.check.registry import ALL_RULES, CHECKS, codes_in
from compiler.diagnostics import Category
from tests.helpers.estate import PROJECT_ROOT


def test_codes_and_names_are_unique() -> None:
    codes = [rule.code for rule in ALL_RULES]
    names = [rule.name for rule in ALL_RULES]
    assert len(codes) == len(set(codes))
    assert len(names) == len(set(names))


def test_every_decorated_check_is_registered() -> None:
    decorated: dict[int, str] = {}
    for module_info in pkgutil.iter_modules(compiler.check.__path__):
        module = importlib.import_module(f"compiler.check.{module_info.name}")
        for value in vars(module).values():
            if (
                callable(value)
                and hasattr(value, "rule")
                and getattr(value, "__module__", "") == module.__name__
            ):
                decorated[id(value)] = f"{module.__name__}.{value.__name__}"
    unregistered = sorted(
        name for key, name in decorated.items() if key not in {id(check) for check in CHECKS}
    )
    assert unregistered == [], "decorated checks missing from CHECKS"
    assert len(decorated) == len(CHECKS), "CHECKS holds something the modules do not declare"


def test_every_category_has_rules() -> None:
    assert {rule.category for rule in ALL_RULES} == set(Category)


def test_approval_rules_are_the_approval_family() -> None:
    assert codes_in(Category.APPROVAL) == {"P001", "P002", "P003", "P004"}


# the functions a rule is declared with: a code may be written only as their first argument
_DECLARATIONS = frozenset({"rule", "Rule", "_rule", "_loader_rule", "_schema_rule"})
_CODE = re.compile(r"^[A-Z][0-9]{3}$")


def _stray_codes(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    declared: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            called = node.func.id if isinstance(node.func, ast.Name) else None
            if called in _DECLARATIONS:
                declared.add(id(node.args[0]))
    return [
        f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}: {node.value}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and _CODE.match(node.value)
        and id(node) not in declared
    ]


def test_no_code_outside_the_rule_declarations_names_a_rule() -> None:
    """Commands pick rules by category (`codes_in`), never by codes written out: a new rule joins
    its category's commands by being declared."""
    stray = [
        found
        for package in ("compiler", "llmops")
        for path in sorted((PROJECT_ROOT / package).rglob("*.py"))
        for found in _stray_codes(path)
    ]
    assert stray == []


def test_the_capacity_rules_are_what_explain_judges_an_endpoint_by() -> None:
    """E004 (the context the runtime refuses to start beyond) belongs with the capacity rules."""
    assert {"C002", "C003", "C004", "E004"} <= codes_in(Category.CAPACITY)
