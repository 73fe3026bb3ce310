"""How a change to an endpoint's canary reads in `llmops diff` and `llmops history`:
`canary base@1.1 at 10% -> 50%`, `canary base@1.1 promoted`, ..."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from compiler.records import record
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.spec.serving import ServingEndpointSpec

Resolver = Callable[[str], "tuple[str, str] | None"]


@record
class CanaryState:
    model: str  # `name@version` when it resolves, else as written
    weight: Any


def canary_state(
    endpoint: Manifest[ServingEndpointSpec], env: ResolvedEnvironment
) -> CanaryState | None:
    canary = endpoint.spec.canary
    if canary is None:
        return None
    model = env.resolve_model(canary.model).manifest
    return CanaryState(
        f"{model.name}@{model.version}" if model is not None else canary.model, canary.weight
    )


def canary_of_document(endpoint_data: Any, resolve: Resolver) -> CanaryState | None:
    """The canary an endpoint document names (history reads documents, not validated models)."""
    spec = endpoint_data.get("spec") if isinstance(endpoint_data, dict) else None
    canary = spec.get("canary") if isinstance(spec, dict) else None
    if not isinstance(canary, dict):
        return None
    reference = str(canary.get("model", ""))
    model = resolve(reference)
    return CanaryState(f"{model[0]}@{model[1]}" if model else reference, canary.get("weight"))


def describe_canary(
    before: CanaryState | None, after: CanaryState | None, model_after: str | None
) -> str | None:
    """One line for what happened to the canary; ``model_after``: the endpoint's model after the
    change (a canary removed as its version became the model was promoted)."""
    if before == after:
        return None
    if before is None:
        assert after is not None
        return f"canary {after.model} added at {after.weight}%"
    if after is None:
        if model_after == before.model:
            return f"canary {before.model} promoted (at {before.weight}%): it is the model now"
        return f"canary {before.model} at {before.weight}% removed"
    if before.model == after.model:
        return f"canary {after.model} at {before.weight}% -> {after.weight}%"
    return f"canary {before.model} at {before.weight}% -> {after.model} at {after.weight}%"
