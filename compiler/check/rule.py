"""How a rule is declared: a generator over one environment, yielding findings with manifest
paths."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Protocol

from compiler.diagnostics import Assumption, Category, Rule, Severity
from compiler.positions import Path, Span
from compiler.records import record
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest


@record(eq=False, repr=False)
class RelatedPlace:
    """Another place a finding points at, e.g. the other of two duplicates."""

    manifest: Manifest
    path: Path
    message: str


@record(eq=False, repr=False)
class Finding:
    """What a rule reports. The runner turns ``path`` into a file position; rules never count
    lines."""

    manifest: Manifest
    path: Path
    message: str
    hint: str | None = None
    key: bool = False  # point at the key rather than the value (unknown or duplicated entries)
    related: tuple[RelatedPlace, ...] = ()
    span: Span | None = None  # an explicit place, for findings inside non-manifest files
    # what the verdict rests on besides the manifests' facts
    assumptions: tuple[Assumption, ...] = ()


class CheckFunction(Protocol):
    rule: Rule
    needs: frozenset[str]  # kinds it must see every manifest of (it concludes from their absence)

    def __call__(self, env: ResolvedEnvironment) -> Iterator[Finding]: ...


def rule(
    code: str,
    name: str,
    severity: Severity,
    summary: str,
    *,
    category: Category,
    needs: frozenset[str] = frozenset(),
) -> Callable[[Callable[[ResolvedEnvironment], Iterator[Finding]]], CheckFunction]:
    """Declare a check. Its docstring is the rule's documentation for `llmops rules CODE`, in the
    fixed sections of compiler/check/rule_docs.py (a test holds every rule to them).

    ``needs``: the kinds a finding rests on the absence of (a reference rule needs every manifest of
    the kind it resolves). Where a file that could not be read may hold one, the findings are
    withheld.
    """

    def decorate(function: Callable[[ResolvedEnvironment], Iterator[Finding]]) -> CheckFunction:
        explanation = inspect.cleandoc(function.__doc__ or "")
        function.rule = Rule(code, name, severity, summary, explanation, category=category)  # type: ignore[attr-defined]
        function.needs = needs  # type: ignore[attr-defined]
        return function  # type: ignore[return-value]

    return decorate
