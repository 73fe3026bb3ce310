"""Approvals and environment policy (code family P): only approved, unchanged models are served."""

from __future__ import annotations

from collections.abc import Iterator

from compiler.check.rule import Finding, RelatedPlace, rule
from compiler.diagnostics import Category, Severity
from compiler.resolve.approvals import (
    ApprovalState,
    approval_state,
    approvals_by_model,
    current_digest,
)
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.spec.approval import ApprovalSpec
from compiler.spec.model import ModelSpec
from compiler.spec.serving import ServingEndpointSpec

# their home is resolve
__all__ = ["ApprovalState", "approval_state", "approvals_by_model", "current_digest"]

E = Severity.ERROR


def approve_command(
    model: Manifest[ModelSpec], env: str, who: str = "<user>", role: str = "<role>"
) -> str:
    return f"llmops approve {model.name}@{model.version} --env {env} --by {who} --role {role}"


def _summary(state: ApprovalState) -> str:
    have = len(state.valid_approvers)
    text = f"{have} of {state.needed} required approval{'s' if state.needed != 1 else ''}"
    if state.valid_approvers:
        text += f" ({', '.join(state.valid_approvers)})"
    if state.problems:
        text += "; " + "; ".join(state.problems)
    return text


@rule(
    "P001",
    "model-not-approved",
    E,
    "An endpoint serves a model that is not approved for its environment.",
    category=Category.APPROVAL,
    needs=frozenset({"Approval"}),
)
def model_not_approved(env: ResolvedEnvironment) -> Iterator[Finding]:
    """As in the seeds, only approved models may be served. A model counts as approved in an
    environment when enough distinct people (the environment's `approval.minApprovers`, default 1)
    with an allowed role (`approval.roles`, default `admin`) have an Approval of the current model
    manifest there. Fix: run the `llmops approve` command in the hint and commit the file it
    writes."""
    for endpoint in env.of_kind("ServingEndpoint"):
        model = env.resolve_model(endpoint.spec.model_id).manifest
        if model is None:
            continue
        state = approval_state(env, model)
        if not state.approved:
            yield Finding(
                endpoint,
                ("spec", "modelId"),
                f"{model.subject} is not approved for environment `{env.name}`: {_summary(state)}",
                approve_command(model, env.name),
            )


@rule(
    "P002",
    "approval-digest-stale",
    E,
    "An approval is for an earlier version of the model manifest.",
    category=Category.APPROVAL,
)
def approval_digest_stale(env: ResolvedEnvironment) -> Iterator[Finding]:
    """An Approval pins the digest of the model manifest the approver saw. Any later edit to the
    model (storage URI, parameters, anything but `status`) changes the digest and voids the
    approval, so a model cannot be swapped under an existing approval. Fix: have the model approved
    again."""
    for approval in env.of_kind("Approval"):
        model = env.resolve_model(approval.spec.model_id).manifest
        if model is None:
            continue
        digest = current_digest(env, model)
        if approval.spec.model_digest != digest:
            yield Finding(
                approval,
                ("spec", "modelDigest"),
                f"this approval is for an earlier version of "
                f"{model.subject} (the manifest now has digest {digest[:19]}…)",
                approve_command(model, env.name, approval.spec.approved_by, approval.spec.role),
                related=(RelatedPlace(model, ("metadata", "name"), "the model as it is now"),),
            )


@rule(
    "P003",
    "approver-role-not-allowed",
    E,
    "An approval was given with a role that may not approve.",
    category=Category.APPROVAL,
)
def approver_role_not_allowed(env: ResolvedEnvironment) -> Iterator[Finding]:
    """The environment's `approval.roles` (default `admin`, as in the seeds) lists who may approve
    models. Fix: have someone with an allowed role approve, or change the policy in
    environment.yaml."""
    roles = env.settings.approval.roles
    for approval in env.of_kind("Approval"):
        if approval.spec.role not in roles:
            yield Finding(
                approval,
                ("spec", "role"),
                f"role `{approval.spec.role}` may not approve models in environment `{env.name}`",
                f"allowed roles: {', '.join(roles)}",
            )


@rule(
    "P004",
    "approved-status-without-approval",
    E,
    "A model says `status: approved` without valid approvals.",
    category=Category.APPROVAL,
    needs=frozenset({"Approval"}),
)
def approved_status_without_approval(env: ResolvedEnvironment) -> Iterator[Finding]:
    """`status: approved` on a Model is a claim; the Approvals are the proof. A model whose status
    says approved must have enough valid Approvals in each environment that deploys it. Fix: approve
    it, or set the status back to `draft`."""
    for model in env.of_kind("Model"):
        if model.spec.status == "approved":
            state = approval_state(env, model)
            if not state.approved:
                yield Finding(
                    model,
                    ("spec", "status"),
                    f"status is approved but in environment `{env.name}` "
                    f"{model.subject} has {_summary(state)}",
                    approve_command(model, env.name),
                )


@rule(
    "P005",
    "environment-mismatch",
    E,
    "A spec's `environment` differs from its folder.",
    category=Category.PLACEMENT,
)
def environment_mismatch(env: ResolvedEnvironment) -> Iterator[Finding]:
    """The seeds' endpoint body names its environment; in git the folder decides. Where
    `environment` is written it must equal the folder (`environments/<env>/`), so a copied file
    cannot silently deploy to the wrong place. In `_shared/` leave it out. Fix: correct or remove
    the field."""
    for manifest in env.manifests:
        if isinstance(manifest.spec, ServingEndpointSpec | ApprovalSpec):
            written = manifest.spec.environment
            if written is not None and written != env.name:
                where = (
                    "_shared/ (which every environment uses)"
                    if manifest.origin == "_shared"
                    else f"environments/{env.name}/"
                )
                yield Finding(
                    manifest,
                    ("spec", "environment"),
                    f'environment is "{written}" but the manifest is in {where}',
                    f"set environment: {env.name}, or remove the field",
                )


@rule(
    "P006",
    "misplaced-manifest",
    E,
    "An Environment or Approval is in `_shared/`, or an Environment is misnamed.",
    category=Category.PLACEMENT,
)
def misplaced_manifest(env: ResolvedEnvironment) -> Iterator[Finding]:
    """Environment settings and approvals belong to one environment: they cannot live in `_shared/`.
    An Environment's `metadata.name` must be its folder's name. Fix: move the file into
    `environments/<env>/`, or correct the name."""
    for manifest in env.misplaced:
        yield Finding(
            manifest,
            ("kind",),
            f"an {manifest.kind} cannot be shared by all environments",
            "move it to environments/<env>/; approvals and settings are per environment",
        )
    settings = env.settings_manifest
    if settings is not None and settings.name != env.name:
        yield Finding(
            settings,
            ("metadata", "name"),
            f'the Environment is named "{settings.name}" but its folder is `{env.name}`',
            f"set metadata.name: {env.name}",
        )


CHECKS = (
    model_not_approved,
    approval_digest_stale,
    approver_role_not_allowed,
    approved_status_without_approval,
    environment_mismatch,
    misplaced_manifest,
)
