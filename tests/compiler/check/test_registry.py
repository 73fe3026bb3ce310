"""The rule registry: one entry per code and name, every rule in a category, every check
registered."""

from __future__ import annotations

import importlib
import pkgutil

import compiler.check
from compiler.check.registry import ALL_RULES, CHECKS, codes_in
from compiler.diagnostics import Category


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
