"""Which Approvals count for a model in one environment: shared by the approval rules and by the
proxy's catalog (which reports a model `approved` exactly when the rules would)."""

from __future__ import annotations

from compiler.records import record
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.lineage import made_by
from compiler.resolve.manifest import Manifest
from compiler.resolve.model_digest import model_digest
from compiler.spec.approval import ApprovalSpec
from compiler.spec.formats import same_person_key
from compiler.spec.model import ModelSpec


@record(eq=False, repr=False)
class ApprovalState:
    """Which approvals of one model count in one environment, and why the others do not."""

    model: Manifest[ModelSpec]
    valid_approvers: tuple[str, ...]
    needed: int
    problems: tuple[str, ...]

    @property
    def approved(self) -> bool:
        return len(self.valid_approvers) >= self.needed


def approvals_by_model(
    env: ResolvedEnvironment,
) -> dict[Manifest[ModelSpec], list[Manifest[ApprovalSpec]]]:
    """The environment's Approvals grouped by the model they resolve to, in file order.

    Built once per environment (cached): looking the approvals up per endpoint made validation
    quadratic, several seconds for 1,000 endpoints.
    """

    def build() -> dict[Manifest[ModelSpec], list[Manifest[ApprovalSpec]]]:
        index: dict[Manifest[ModelSpec], list[Manifest[ApprovalSpec]]] = {}
        for approval in env.of_kind("Approval"):
            model = env.resolve_model(approval.spec.model_id).manifest
            if model is not None:
                index.setdefault(model, []).append(approval)
        return index

    return env.remember(("approvals-by-model", env.name), build)


def approval_state(env: ResolvedEnvironment, model: Manifest[ModelSpec]) -> ApprovalState:
    """Whether ``model`` is approved in ``env``, and by whom; worked out once per run (every
    endpoint serving it asks: 5,000 endpoints of one model with 5,000 approvals took 12 s)."""
    return env.remember(("approval-state", model, env.name), lambda: _approval_state(env, model))


def _approval_state(env: ResolvedEnvironment, model: Manifest[ModelSpec]) -> ApprovalState:
    digest = current_digest(env, model)
    policy = env.settings.approval
    approvers: dict[str, str] = {}  # one entry per person: `Alice` and `alice` are one approver
    problems: list[str] = []
    for approval in approvals_by_model(env).get(model, ()):
        who = approval.spec.approved_by
        if approval.spec.status != "approved":
            problems.append(f"{who} rejected it")
        elif approval.spec.model_digest != digest:
            problems.append(f"{who}'s approval is for an earlier version of the manifest")
        elif approval.spec.role not in policy.roles:
            problems.append(
                f"{who} approved with role `{approval.spec.role}`, which may not approve here"
            )
        else:
            approvers.setdefault(same_person_key(who), who)
    return ApprovalState(
        model, tuple(sorted(approvers.values())), policy.min_approvers, tuple(problems)
    )


def current_digest(env: ResolvedEnvironment, model: Manifest[ModelSpec]) -> str:
    """The model's digest, computed once per run (a shared model is checked in every
    environment)."""
    if model.spec.trained_by is None:
        return model.derived(_own_digest)
    # a trained model's digest covers its job, which `trainedBy` resolves per environment
    return env.remember(
        ("model-digest", model, env.name), lambda: model_digest(model.model, made_by(env, model))
    )


def _own_digest(model: Manifest[ModelSpec]) -> str:
    """The digest of a model that no job of the estate made: a function of its manifest alone."""
    return model_digest(model.model)
