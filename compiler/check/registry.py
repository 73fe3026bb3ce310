"""Every rule, in one readable list: loader (Y), schema (S), the checks on resolved environments,
and the rules about rule settings and suppressions (L)."""

from __future__ import annotations

from compiler.check import (
    approvals,
    audit,
    canary,
    capacity,
    datasets,
    experiments,
    lineage,
    llm_inference_service,
    model_size,
    names,
    object_sizes,
    policy,
    promotion,
    references,
    rollout,
    serving,
    shared_places,
    trainer,
    training_capacity,
)
from compiler.check.rule import CheckFunction
from compiler.check.schema_rules import SCHEMA_RULES
from compiler.decide.rules import DECISION_RULES
from compiler.diagnostics import Category, Rule
from compiler.load.rules import LOADER_RULES

CHECKS: tuple[CheckFunction, ...] = (
    *references.CHECKS,
    *lineage.CHECKS,
    *approvals.CHECKS,
    *policy.CHECKS,
    *promotion.CHECKS,
    *serving.CHECKS,
    *rollout.CHECKS,
    *llm_inference_service.CHECKS,
    *names.CHECKS,
    *object_sizes.CHECKS,
    *shared_places.CHECKS,
    *datasets.CHECKS,
    *experiments.CHECKS,
    *capacity.CHECKS,
    *canary.CHECKS,
    *model_size.CHECKS,
    *training_capacity.CHECKS,
    *trainer.CHECKS,
    *audit.CHECKS,
)

ALL_RULES: tuple[Rule, ...] = (
    *LOADER_RULES,
    *SCHEMA_RULES,
    *(check.rule for check in CHECKS),
    *DECISION_RULES,
)
RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in ALL_RULES}


def codes_in(*categories: Category) -> frozenset[str]:
    """The codes of every rule in the given categories: the one way commands pick a family of
    rules."""
    return frozenset(rule.code for rule in ALL_RULES if rule.category in categories)
