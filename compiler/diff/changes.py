"""What changes in the cluster between two renders of an estate, and the summary a reviewer cares
about."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from compiler.capacity.canary import endpoints_with_canaries
from compiler.capacity.topology import gpus_at
from compiler.diff.canary import CanaryState, canary_state, describe_canary
from compiler.positions import child_path
from compiler.records import record
from compiler.render.estate import RenderedEstate
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.estate import ResolvedEstate

Status = Literal["added", "removed", "changed"]
ObjectKey = tuple[str, str, str, str, str]  # group, apiVersion, kind, namespace, name
_ABSENT = object()


@record
class FieldChange:
    path: str  # e.g. spec.predictor.maxReplicas, metadata.labels["llmops.io/model"], args[2]
    before: Any
    after: Any


@record
class ObjectChange:
    group: str  # environment, or _argocd
    api_version: str
    kind: str
    namespace: str
    name: str
    status: Status
    fields: tuple[FieldChange, ...] = ()

    @property
    def title(self) -> str:
        return f"{self.kind}/{self.name}"


@record
class EnvironmentSummary:
    """Per environment: the numbers that decide whether a change is safe to merge."""

    name: str
    endpoints_added: tuple[str, ...] = ()
    endpoints_removed: tuple[str, ...] = ()
    models_changed: tuple[tuple[str, str, str], ...] = ()  # endpoint, model before, model after
    replicas: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))  # (min, max) before, after
    gpus: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))  # GPUs at min and max replicas
    approvals_added: tuple[str, ...] = ()
    canaries_changed: tuple[tuple[str, str], ...] = ()  # endpoint, what happened to its canary

    @property
    def changed(self) -> bool:
        return bool(
            self.endpoints_added
            or self.endpoints_removed
            or self.models_changed
            or self.approvals_added
            or self.canaries_changed
            or self.replicas[0] != self.replicas[1]
            or self.gpus[0] != self.gpus[1]
        )


@dataclass
class EstateDiff:
    changes: list[ObjectChange] = field(default_factory=list)
    summaries: list[EnvironmentSummary] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.changes and not any(summary.changed for summary in self.summaries)


def _key(group: str, obj: dict[str, Any]) -> ObjectKey:
    metadata = obj["metadata"]
    return (group, obj["apiVersion"], obj["kind"], metadata.get("namespace", ""), metadata["name"])


def field_changes(before: Any, after: Any, path: str = "") -> list[FieldChange]:
    """Leaf-level differences; lists of equal length are compared item by item, others whole."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[FieldChange] = []
        for key in [*before, *(k for k in after if k not in before)]:
            old, new = before.get(key, _ABSENT), after.get(key, _ABSENT)
            if old is _ABSENT or new is _ABSENT:
                changes.append(
                    FieldChange(
                        child_path(path, key),
                        None if old is _ABSENT else old,
                        None if new is _ABSENT else new,
                    )
                )
            elif not same_value(old, new):
                changes.extend(field_changes(old, new, child_path(path, key)))
        return changes
    if isinstance(before, str) and isinstance(after, str) and before != after:
        embedded = _json_documents(before, after)
        # ConfigMaps carry JSON documents (proxy.json, job.json): diff inside them; text whose
        # values are the same (spacing) changed all the same
        if embedded is not None:
            return field_changes(*embedded, path) or [FieldChange(path, before, after)]
    if isinstance(before, list) and isinstance(after, list):
        if len(before) == len(after):
            return [
                change
                for index, (old, new) in enumerate(zip(before, after, strict=True))
                for change in field_changes(old, new, child_path(path, index))
            ]
        return _list_changes(before, after, path)
    return [] if same_value(before, after) else [FieldChange(path, before, after)]


def _list_changes(before: list[Any], after: list[Any], path: str) -> list[FieldChange]:
    """A list that grew or shrank, item by item: the items taken out (at their index before) and
    put in (at their index after), and the ones changed in place. Printed whole, two long lists
    were cut to the same first 120 characters on both sides."""
    texts = [
        [json.dumps(item, sort_keys=True, default=str) for item in side] for side in (before, after)
    ]
    changes: list[FieldChange] = []
    matcher = difflib.SequenceMatcher(None, texts[0], texts[1], autojunk=False)
    for operation, low, high, new_low, new_high in matcher.get_opcodes():
        if operation == "equal":
            continue
        if operation == "replace" and high - low == new_high - new_low:
            for offset in range(high - low):
                changes.extend(
                    field_changes(
                        before[low + offset],
                        after[new_low + offset],
                        child_path(path, low + offset),
                    )
                )
            continue
        changes.extend(
            FieldChange(child_path(path, index), before[index], None) for index in range(low, high)
        )
        changes.extend(
            FieldChange(child_path(path, index), None, after[index])
            for index in range(new_low, new_high)
        )
    return changes


def same_value(before: Any, after: Any) -> bool:
    """Equal as the rendered YAML writes them: Python's `==` takes `1` for `true` and `2` for
    `2.0`, which are other text in the object (a changed annotation listed no field)."""
    if type(before) is not type(after):
        return False
    if isinstance(before, dict):
        return before.keys() == after.keys() and all(
            same_value(value, after[key]) for key, value in before.items()
        )
    if isinstance(before, list):
        return len(before) == len(after) and all(
            same_value(old, new) for old, new in zip(before, after, strict=True)
        )
    return bool(before == after)


def _json_documents(before: str, after: str) -> tuple[Any, Any] | None:
    if not (before.startswith(("{", "[")) and after.startswith(("{", "["))):
        return None
    try:
        return json.loads(before), json.loads(after)
    except ValueError:
        return None


def diff_rendered(base: RenderedEstate, head: RenderedEstate) -> list[ObjectChange]:
    old = {_key(group, obj): obj for group, objects in base.groups.items() for obj in objects}
    new = {_key(group, obj): obj for group, objects in head.groups.items() for obj in objects}
    changes = []
    for key in sorted(old.keys() | new.keys()):
        if key not in new:
            changes.append(ObjectChange(*key, status="removed"))
        elif key not in old:
            changes.append(ObjectChange(*key, status="added"))
        elif old[key] != new[key]:
            changes.append(
                ObjectChange(
                    *key, status="changed", fields=tuple(field_changes(old[key], new[key]))
                )
            )
    return changes


def _capacity(
    env: ResolvedEnvironment | None,
) -> tuple[tuple[int, int], tuple[int, int], dict[str, str]]:
    """Replicas and GPUs of every InferenceService (canaries included), and each endpoint's
    model."""
    low = high = gpu_low = gpu_high = 0
    models: dict[str, str] = {}
    endpoints = list(env.of_kind("ServingEndpoint")) if env is not None else []
    canaries = [canary for _, canary in endpoints_with_canaries(env)] if env is not None else []
    for endpoint in [*endpoints, *canaries]:
        spec = endpoint.spec
        low, high = low + spec.min_replicas, high + spec.max_replicas
        gpu_low, gpu_high = gpu_low + gpus_at(spec), gpu_high + gpus_at(spec, at_max=True)
        if any(endpoint is canary for canary in canaries):
            continue  # a canary's model is said by its own line
        model = env.resolve_model(spec.model_id).manifest if env is not None else None
        models[endpoint.name] = (
            f"{model.name}@{model.version}" if model is not None else spec.model_id
        )
    return (low, high), (gpu_low, gpu_high), models


def summarize(base: ResolvedEstate, head: ResolvedEstate) -> list[EnvironmentSummary]:
    before = {env.name: env for env in base.environments}
    after = {env.name: env for env in head.environments}
    summaries = []
    for name in sorted(before.keys() | after.keys()):
        old_env, new_env = before.get(name), after.get(name)
        old_replicas, old_gpus, old_models = _capacity(old_env)
        new_replicas, new_gpus, new_models = _capacity(new_env)
        old_approvals = {a.name for a in old_env.of_kind("Approval")} if old_env else set()
        new_approvals = (
            [a for a in new_env.of_kind("Approval") if a.name not in old_approvals]
            if new_env
            else []
        )
        summaries.append(
            EnvironmentSummary(
                name=name,
                endpoints_added=tuple(sorted(new_models.keys() - old_models.keys())),
                endpoints_removed=tuple(sorted(old_models.keys() - new_models.keys())),
                models_changed=tuple(
                    (endpoint, old_models[endpoint], new_models[endpoint])
                    for endpoint in sorted(old_models.keys() & new_models.keys())
                    if old_models[endpoint] != new_models[endpoint]
                ),
                replicas=(old_replicas, new_replicas),
                gpus=(old_gpus, new_gpus),
                approvals_added=tuple(
                    f"{a.spec.model_id} by {a.spec.approved_by} ({a.spec.role})"
                    for a in new_approvals
                ),
                canaries_changed=_canaries_changed(old_env, new_env, new_models),
            )
        )
    return summaries


def _canaries_changed(
    old_env: ResolvedEnvironment | None,
    new_env: ResolvedEnvironment | None,
    new_models: dict[str, str],
) -> tuple[tuple[str, str], ...]:
    def canaries(env: ResolvedEnvironment | None) -> dict[str, CanaryState | None]:
        endpoints = env.of_kind("ServingEndpoint") if env is not None else []
        return {e.name: canary_state(e, env) for e in endpoints if env is not None}

    before, after = canaries(old_env), canaries(new_env)
    changed = []
    for name in sorted(before.keys() | after.keys()):
        line = describe_canary(before.get(name), after.get(name), new_models.get(name))
        if line is not None:
            changed.append((name, line))
    return tuple(changed)


Side = tuple[ResolvedEstate, RenderedEstate]


def diff_estates(base: Side, head: Side) -> EstateDiff:
    """Object changes between two renders, and per-environment summaries of the two estates."""
    return EstateDiff(
        changes=diff_rendered(base[1], head[1]), summaries=summarize(base[0], head[0])
    )
