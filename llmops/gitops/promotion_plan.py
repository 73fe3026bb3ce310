"""Plan a promotion: the endpoint, and what it needs that the target lacks, copied from one
environment to another, keeping the values the target decides for itself.

What an endpoint needs is its model version, its LoRA adapters and, for its running prompt
experiments, those experiments and their templates. A copied model trained by a job of the source
environment names it as `SOURCE/JOB` in the target, where the job and its dataset stay. (No Dataset
follows an endpoint.)
The plan also gives the commit message and counts the approvals still missing; `llmops promote`
(llmops/cli/promote.py) validates it and writes the branch.
"""

from __future__ import annotations

import copy
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from compiler.check.approvals import approval_state
from compiler.check.registry import codes_in
from compiler.diagnostics import Category
from compiler.errors import LlmopsError
from compiler.load.estate import ENVIRONMENTS_DIR
from compiler.printable import escape_controls, shown_argument
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from llmops.document_patch import dump_double_quoted, leading_comments, patch_values
from llmops.document_text import append_document, document_count, document_text, replace_document

# Where the target already runs the endpoint, these stay as the target has them: capacity, access
# and the serving backend (which needs the target's KServe) are the target environment's
# decisions, the rest (model, runtime limits, route) is what is promoted.
TARGET_OWNED_PATHS: tuple[tuple[str, ...], ...] = (
    ("metadata",),
    ("spec", "environment"),
    ("spec", "minReplicas"),
    ("spec", "maxReplicas"),
    ("spec", "autoscalePolicy"),
    ("spec", "backend"),
    ("spec", "parallelism"),
    ("spec", "prefill"),
    ("spec", "useGpu"),
    ("spec", "allowedRoles"),
    ("spec", "deploymentSpec", "resources"),
    ("spec", "deploymentSpec", "use_gpu"),
    ("spec", "deploymentSpec", "runtime", "max_concurrent_requests"),
    # a canary is a rollout in one environment: the target keeps its own (or none), and one of
    # the promoted version is complete (see `_without_finished_canary`)
    ("spec", "canary"),
)

# Errors a promotion may leave in the target: approvals of the promoted model, which can only be
# given on the branch (an approval pins the digest of the model as the branch has it). Any other
# error refuses.
APPROVAL_RULES = codes_in(Category.APPROVAL)
_MISSING = object()
Reader = Callable[[str], str | None]  # a file's current text, or None when there is no such file


@dataclass
class PromotionPlan:
    endpoint: str
    source: str
    target: str
    model_id: str
    files: dict[str, str] = field(default_factory=dict)  # estate-relative path -> new text
    adapter_ids: list[str] = field(default_factory=list)  # LoRA adapters the endpoint also serves
    actions: list[str] = field(default_factory=list)

    def write(self, path: str, text: str, action: str) -> None:
        self.files[path] = text
        self.actions.append(f"{path}: {action}")


def _get(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return _MISSING
        data = data[key]
    return data


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        child = data.get(key)
        if not isinstance(child, dict):
            child = data[key] = {}
        data = child
    if value is _MISSING:
        data.pop(path[-1], None)
    else:
        data[path[-1]] = value


def merged_endpoint(
    source: dict[str, Any], target: dict[str, Any] | None, target_env: str
) -> dict[str, Any]:
    """The source endpoint, with the target's own values where the target already has the
    endpoint."""
    result = copy.deepcopy(source)
    if target is not None:
        for path in TARGET_OWNED_PATHS:
            value = _get(target, path)
            _set(result, path, value if value is _MISSING else copy.deepcopy(value))
    elif _get(result, ("spec", "canary")) is not _MISSING:
        _set(result, ("spec", "canary"), _MISSING)  # a new endpoint starts without a canary
    if isinstance(result.get("spec"), dict) and "environment" in result["spec"]:
        result["spec"]["environment"] = target_env
    return result


def _keep_reference_spelling(
    data: dict[str, Any], target: dict[str, Any], other_model: str | None = None
) -> None:
    """The target names the same model already (perhaps as `name-version`): keep its spelling, so
    the diff shows only what really changes. For another model (`other_model`, `name@version`),
    keep at least the target's `name@version` form where it writes one."""
    for path in (("spec", "modelId"), ("spec", "deploymentSpec", "model_ref")):
        value = _get(target, path)
        if value is _MISSING or _get(data, path) is _MISSING:
            continue
        if other_model is None:
            _set(data, path, value)
        elif isinstance(value, str) and "@" in value:
            _set(data, path, other_model)


def _without_finished_canary(
    data: dict[str, Any], existing: Manifest, target: ResolvedEnvironment, model: Manifest
) -> bool:
    """Drop the target's canary when it is of the version being promoted (the promotion is its
    last step). Returns whether it did."""
    canary = getattr(existing.spec, "canary", None)
    if canary is None:
        return False
    running = target.resolve_model(canary.model).manifest
    if running is None or running.identity != model.identity:
        return False
    _set(data, ("spec", "canary"), _MISSING)
    return True


def in_order_of(data: Any, target: Any) -> Any:
    """``data`` with its keys in the order the target already writes them (keys the target lacks
    after them, in data's order), at every depth: a document written anew then differs from the
    target's only where its values do, not where the source's order differs."""
    if not isinstance(data, dict) or not isinstance(target, dict):
        return data
    keys = [key for key in target if key in data] + [key for key in data if key not in target]
    return {key: in_order_of(data[key], target.get(key)) for key in keys}


def _mirror(path: str, target: str) -> str:
    """`environments/<any>/rest` -> `environments/<target>/rest`."""
    parts = path.split("/", 2)
    return posixpath.join(ENVIRONMENTS_DIR, target, parts[2]) if len(parts) == 3 else path


class _Writer:
    """Accumulates edits to files, reading each file once (from the plan when already edited)."""

    def __init__(self, plan: PromotionPlan, read: Reader):
        self.plan = plan
        self.read = read

    def text(self, path: str) -> str | None:
        return self.plan.files.get(path) if path in self.plan.files else self.read(path)

    def add(self, path: str, body: str, action: str) -> None:
        existing = self.text(path)
        text = (
            body
            if existing is None or document_count(existing, path) == 0
            else append_document(existing, body)
        )
        self.plan.write(path, text, action)


def _source_body(manifest: Manifest, read: Reader) -> str:
    text = read(manifest.file)
    if text is None:
        raise LlmopsError(f"cannot read {manifest.file} (missing, over 1 MiB or not UTF-8)")
    return document_text(text, manifest.document.index, manifest.file)


def _model_body(model: Manifest, source: ResolvedEnvironment, read: Reader) -> str:
    """The model's document as the target gets it: verbatim, except that a `trainedBy` naming a job
    of the source environment is qualified with it (`dev/support-sft`), so it still names that job
    from the target."""
    trained_by = model.document.data.get("spec", {}).get("trainedBy")
    if not isinstance(trained_by, str) or "/" in trained_by:
        return _source_body(model, read)
    data = copy.deepcopy(model.document.data)
    data["spec"]["trainedBy"] = f"{source.name}/{trained_by}"
    return f"# promoted from {source.name} by `llmops promote`\n" + dump_double_quoted(data)


def plan_promotion(
    source: ResolvedEnvironment, target: ResolvedEnvironment, endpoint: str, read: Reader
) -> PromotionPlan:
    """`read(path)` gives a file's current text (or None). Raises LlmopsError for what cannot be
    promoted."""
    found = source.resolve_named("ServingEndpoint", endpoint).manifest
    if found is None:
        known = ", ".join(m.name for m in source.of_kind("ServingEndpoint")) or "none"
        raise LlmopsError(
            f"no endpoint `{shown_argument(endpoint)}` in {source.name}",
            hint=f"endpoints in {source.name}: {known}",
        )
    model = source.resolve_model(found.spec.model_id).manifest
    if model is None:
        raise LlmopsError(
            f"`{endpoint}` in {source.name} serves `{found.spec.model_id}`, which does not resolve"
        )
    plan = PromotionPlan(endpoint, source.name, target.name, f"{model.name}@{model.version}")
    writer = _Writer(plan, read)
    header = f"promoted from {source.name} by `llmops promote`"

    existing = target.resolve_named("ServingEndpoint", endpoint).manifest
    if existing is not None and existing.document.data == found.document.data:
        pass  # the same manifest (e.g. both come from _shared): nothing to copy
    else:
        data = merged_endpoint(
            found.document.data, existing.document.data if existing else None, target.name
        )
        served_now = (
            target.resolve_model(existing.spec.model_id).manifest if existing is not None else None
        )
        if existing is not None:
            same = served_now is not None and served_now.identity == model.identity
            _keep_reference_spelling(data, existing.document.data, None if same else plan.model_id)
        if existing is not None and _without_finished_canary(data, existing, target, model):
            plan.actions.append(f"canary {plan.model_id} removed: the promotion makes it the model")
        if existing is not None:
            data = in_order_of(data, existing.document.data)
        body = f"# {header}\n" + dump_double_quoted(data)
        if existing is not None and existing.origin == target.name:
            text = writer.text(existing.file)
            assert text is not None
            # the target's own text stays (comments, quoting): only changed values are rewritten
            patched = (
                None if existing.file in plan.files else patch_values(text, existing.document, data)
            )
            if patched is None:  # more than values change: the document is written anew
                written = document_text(text, existing.document.index, existing.file)
                comments = leading_comments(written)
                if comments:
                    body = comments + dump_double_quoted(data)
                patched = replace_document(text, existing.document.index, body, existing.file)
            plan.write(
                existing.file,
                patched,
                f"endpoint updated from {source.name} (kept {target.name}'s replicas, GPUs and "
                "roles)",
            )
        else:
            path = _mirror(found.file, target.name)
            writer.add(
                path,
                body,
                f"endpoint copied from {source.name}"
                if existing is None
                else f"endpoint from {source.name}, overriding the shared one in {target.name}",
            )

    adapters = [source.resolve_model(reference).manifest for reference in found.spec.adapters]
    plan.adapter_ids = [f"{a.name}@{a.version}" for a in adapters if a is not None]
    for served in [model, *(a for a in adapters if a is not None)]:
        served_id = f"{served.name}@{served.version}"
        if target.resolve_model(served_id).manifest is None:
            writer.add(
                _mirror(served.file, target.name),
                _model_body(served, source, read),
                f"model {served_id} copied from {source.name}",
            )

    for experiment in source.of_kind("PromptExperiment"):
        if experiment.spec.endpoint != endpoint or not experiment.spec.is_running:
            continue
        if target.resolve_named("PromptExperiment", experiment.name).manifest is None:
            writer.add(
                _mirror(experiment.file, target.name),
                _source_body(experiment, read),
                f"prompt experiment {experiment.name} copied from {source.name}",
            )
        for name in (experiment.spec.template_a_id, experiment.spec.template_b_id):
            template = source.resolve_named("PromptTemplate", name).manifest
            if (
                template is not None
                and target.resolve_named("PromptTemplate", name).manifest is None
            ):
                writer.add(
                    _mirror(template.file, target.name),
                    _source_body(template, read),
                    f"prompt template {name} copied from {source.name}",
                )
    return plan


def approvals_needed(env: ResolvedEnvironment, model_id: str) -> tuple[int, list[str]]:
    """How many more distinct approvers the model needs in `env`, and who approved it already
    (counted as the approval rules count them: current digest, allowed role)."""
    model = env.resolve_model(model_id).manifest
    if model is None:
        return env.settings.approval.min_approvers, []
    state = approval_state(env, model)
    return max(0, state.needed - len(state.valid_approvers)), list(state.valid_approvers)


def commit_message(plan: PromotionPlan, head: str) -> str:
    """Names what moved where; every name and path from the estate is copied with controls
    escaped."""
    lines = [
        f"Promote ServingEndpoint {plan.endpoint} from {plan.source} to {plan.target}",
        "",
        f"Serves {plan.model_id}. Changes:",
    ]
    lines.extend(f"- {action}" for action in plan.actions)
    lines.extend(["", f"Promoted-From: {plan.source}@{head}"])
    return "\n".join(escape_controls(line) for line in lines) + "\n"
