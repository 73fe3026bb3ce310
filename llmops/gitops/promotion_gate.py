"""What a promotion does to the target's errors, and to the environments that follow the target in
the promotion order: compared before and after, so that a promotion is never refused for the very
errors it fixes, and a promotion into staging says what production has to do next."""

from __future__ import annotations

from dataclasses import dataclass, field

from compiler.diagnostics import Diagnostic, Severity
from compiler.pipeline import ValidationResult
from compiler.resolve.environment import ResolvedEnvironment

DiagnosticKey = tuple[str, str, tuple[object, ...], str]


def diagnostic_key(diagnostic: Diagnostic) -> DiagnosticKey:
    """One problem, whatever line it moved to when a file was rewritten."""
    return (diagnostic.code, diagnostic.span.file, tuple(diagnostic.path), diagnostic.message)


def errors(result: ValidationResult) -> list[Diagnostic]:
    return [d for d in result.diagnostics if d.severity is Severity.ERROR]


@dataclass
class TargetErrors:
    """The target's errors at HEAD, split by whether the promotion removes them."""

    fixed: list[Diagnostic] = field(default_factory=list)
    kept: list[Diagnostic] = field(default_factory=list)


def split_target_errors(before: ValidationResult, after: ValidationResult) -> TargetErrors:
    remaining = {diagnostic_key(d) for d in errors(after)}
    split = TargetErrors()
    for diagnostic in errors(before):
        (split.kept if diagnostic_key(diagnostic) in remaining else split.fixed).append(diagnostic)
    return split


def _served(env: ResolvedEnvironment) -> dict[str, set[str]]:
    """`name@version` -> the endpoints of `env` that serve it."""
    served: dict[str, set[str]] = {}
    for endpoint in env.of_kind("ServingEndpoint"):
        model = env.resolve_model(endpoint.spec.model_id).manifest
        if model is not None:
            served.setdefault(f"{model.name}@{model.version}", set()).add(endpoint.name)
    return served


@dataclass
class FollowerNote:
    """An environment whose promotion order names the target: what it serves that the target
    will no longer serve, and the promotion errors the change would give it."""

    name: str
    stale: list[tuple[str, str]]  # (endpoint, name@version)
    new_errors: list[Diagnostic]


def follower_notes(
    target: str, before: ValidationResult, after: ValidationResult
) -> list[FollowerNote]:
    """`before` and `after` are whole-estate validations at HEAD and with the promotion."""
    environments_before = {env.name: env for env in before.estate.environments}
    environments_after = {env.name: env for env in after.estate.environments}
    if target not in environments_before or target not in environments_after:
        return []
    served_before = _served(environments_before[target])
    served_after = _served(environments_after[target])
    known_before = {diagnostic_key(d) for d in errors(before)}
    notes = []
    for env in after.estate.environments:
        if env.name == target or env.settings.promotion.requires != target:
            continue
        stale = sorted(
            (endpoint, identity)
            for identity, endpoints in _served(env).items()
            if identity in served_before and identity not in served_after
            for endpoint in endpoints
        )
        prefix = f"environments/{env.name}/"
        new_errors = [
            d
            for d in errors(after)
            if d.span.file.startswith(prefix) and diagnostic_key(d) not in known_before
        ]
        if stale or new_errors:
            notes.append(FollowerNote(env.name, stale, new_errors))
    return notes
