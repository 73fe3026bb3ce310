"""Approvals and environment policy (code family P): only approved, unchanged models are served."""

from __future__ import annotations

from collections.abc import Iterator

from compiler.check.rule import Finding, RelatedPlace, rule
from compiler.diagnostics import Category, Severity
from compiler.load.estate import ENVIRONMENTS_DIR, is_valid_environment_name
from compiler.positions import Path, Span
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


def only_role(env: ResolvedEnvironment) -> str:
    """The role to write in a suggested `llmops approve`: the environment's one allowed role, or a
    placeholder when it allows several."""
    roles = env.settings.approval.roles
    return roles[0] if len(roles) == 1 else "<role>"


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
        shown = state.problems[:_LISTED_PROBLEMS]
        more = len(state.problems) - len(shown)
        text += "; " + "; ".join(shown) + (f"; and {more:,} more" if more else "")
    return text


# the approvals' problems a message names (5,000 stale approvals of one model made each of its
# endpoints' messages 300 KB, and 1.5 GB of JSON)
_LISTED_PROBLEMS = 5


@rule(
    "P001",
    "model-not-approved",
    E,
    "An endpoint serves a model that is not approved for its environment.",
    category=Category.APPROVAL,
    needs=frozenset({"Approval"}),
)
def model_not_approved(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Every endpoint serves a model (and adapters, and its canary's model) approved for its
        environment: enough distinct people (the environment's `approval.minApprovers`, default 1)
        with an allowed role (`approval.roles`, default `admin`) have an Approval there of the model
        manifest as it is now. The hint is the `llmops approve` command to run.
    Why it matters:
        Approval is the gate between a model someone uploaded and a model users talk to, as in the
        original platform. Checked at validate time, an unapproved model never reaches the cluster,
        instead of being caught (or not) by a person reading the pull request.
    Wrong: nobody approved support-model 1.0 for dev
        # file: environments/dev/serving/support-chat.yaml
        spec:
          modelId: support-model@1.0
        $ ls environments/dev
        catalog
        serving
    Right: the Approval `llmops approve` wrote, committed
        $ ls environments/dev/approvals
        support-model-1-0-admin.yaml
        # file: environments/dev/approvals/support-model-1-0-admin.yaml
        spec:
          modelId: support-model@1.0
          status: approved
          approvedBy: admin
          role: admin
          modelDigest: sha256:371391b8e40be6fa6723521e91bc51096ac9907471b3a60e410fa3f80c7baa32
    """
    for endpoint in env.of_kind("ServingEndpoint"):
        served: list[tuple[Path, str]] = [(("spec", "modelId"), endpoint.spec.model_id)]
        served += [(("spec", "adapters", i), a) for i, a in enumerate(endpoint.spec.adapters)]
        if endpoint.spec.canary is not None:
            served.append((("spec", "canary", "model"), endpoint.spec.canary.model))
        for path, reference in served:
            model = env.resolve_model(reference).manifest
            if model is None:
                continue
            state = approval_state(env, model)
            if not state.approved:
                yield Finding(
                    endpoint,
                    path,
                    f"{model.subject} is not approved for environment `{env.name}`: "
                    f"{_summary(state)}",
                    approve_command(model, env.name, role=only_role(env)),
                )


@rule(
    "P002",
    "approval-digest-stale",
    E,
    "An approval is for an earlier version of the model manifest.",
    category=Category.APPROVAL,
)
def approval_digest_stale(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        An Approval's `modelDigest` is the digest of the model manifest as it is now: a sha256 over
        its kind, name and spec as canonical JSON, without `status`. Formatting, comments and labels
        do not change it; any edit to what would be deployed does.
    Why it matters:
        An approver approves what they saw. If the weights' URI, the runtime or any other deployed
        field changes afterwards, the approval no longer covers the model being served; without the
        digest a re-uploaded model would ride on an old approval.
    Wrong: the weights were re-uploaded after the approval
        # file: environments/dev/catalog/support-model.yaml
        # The weights were re-uploaded after the approval: storageUri changed...
        ...
          storageUri: s3://models/support-model/1.0-rebuilt/
        # file: environments/dev/approvals/support-model-1-0-admin.yaml
        ...
          modelDigest: sha256:371391b8e40be6fa6723521e91bc51096ac9907471b3a60e410fa3f80c7baa32
    Right: approved again (`llmops approve` writes the new digest)
        # file: environments/dev/approvals/support-model-1-0-admin.yaml
          modelDigest: sha256:3b54fcef998c77355dd307b97b3b82de91a2a05a0a0aab62dcf399f76864e376
    """
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
    """What it checks:
        Every Approval's `role` is one of the environment's `approval.roles` (default `admin`, as
        the original platform had it).
    Why it matters:
        Environments differ in who may approve: a role trusted in one (an ML lead approving for
        prod) may not be in another. An approval copied between environments must not carry its
        authority along.
    Wrong: dev lets only admins approve
        # file: environments/dev/approvals/support-model-1-0-bob.yaml
          approvedBy: bob
          # Wrong: dev lets only admin approve, not ml-lead.
          role: ml-lead
        # file: environments/dev/environment.yaml
        spec:
          approval:
            roles: [admin]
    Right: approved with a role dev allows
        # file: environments/dev/approvals/support-model-1-0-bob.yaml
          approvedBy: bob
          role: admin
    """
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
    """What it checks:
        A Model whose `status` says `approved` has enough valid Approvals in the environment to be
        approved there (the same test as P001).
    Why it matters:
        `status: approved` is a claim anyone can type; the Approvals are the proof, with a name, a
        role and a digest. A claim without proof misleads readers and any tool that reads the status
        field of the original platform's body.
    Wrong: the status claims approval, nobody gave one
        # file: environments/dev/catalog/support-model.yaml
          storageUri: s3://models/support-model/1.0/
          # Wrong: the status claims approval, but there is no Approval of this model in dev.
          status: approved
    Right: the claim is backed by an Approval (or the status is draft)
        # file: environments/dev/catalog/support-model.yaml
          # Approved: backed by the Approval in approvals/.
          status: approved
        # file: environments/dev/approvals/support-model-1-0-admin.yaml
        spec:
          modelId: support-model@1.0
    """
    for model in env.of_kind("Model"):
        if model.spec.status == "approved":
            state = approval_state(env, model)
            if not state.approved:
                yield Finding(
                    model,
                    ("spec", "status"),
                    f"status is approved but in environment `{env.name}` "
                    f"{model.subject} has {_summary(state)}",
                    approve_command(model, env.name, role=only_role(env)),
                )


@rule(
    "P005",
    "environment-mismatch",
    E,
    "A spec's `environment` differs from its folder.",
    category=Category.PLACEMENT,
)
def environment_mismatch(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Where a spec names its environment (the original platform's endpoint body has an
        `environment` field), it equals the folder the manifest is in.
    Why it matters:
        In git the folder decides where a manifest is deployed. A field naming another environment
        is usually left over from a copy, and a reader trusting it would think the endpoint runs
        somewhere it does not.
    Wrong: copied from stg
        # file: environments/dev/serving/support-chat.yaml
          # Wrong: copied from stg; the folder says dev.
          environment: stg
    Right: the same as the folder (or no field)
        # file: environments/dev/serving/support-chat.yaml
          # The same as the folder.
          environment: dev
    """
    for manifest in env.manifests:
        if isinstance(manifest.spec, ServingEndpointSpec | ApprovalSpec):
            written = manifest.spec.environment
            if written is not None and written != env.name:
                where = (
                    "_shared/ (which every environment uses)"
                    if manifest.origin == "_shared"
                    else f"environments/{env.name}/"
                )
                # a folder that is no valid environment name (K005) is the thing to change
                hint = (
                    f"set environment: {env.name}, or remove the field"
                    if is_valid_environment_name(env.name)
                    else f"rename the folder environments/{env.name}/ to `{written}` (K005), or "
                    "remove the field"
                )
                yield Finding(
                    manifest,
                    ("spec", "environment"),
                    f'environment is "{written}" but the manifest is in {where}',
                    hint,
                )


@rule(
    "P006",
    "misplaced-manifest",
    E,
    "An Environment or Approval is in `_shared/`, an Environment is misnamed, or a folder looks "
    "like part of an environment.",
    category=Category.PLACEMENT,
)
def misplaced_manifest(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Environment settings and Approvals are not in `_shared/` (they belong to one environment),
        an Environment's `metadata.name` is its folder's name, and a folder right under
        `environments/` without an Environment manifest is not named like the folders inside one
        (`serving`, `approvals`, `catalog`...): moved one level too high, it would be read as an
        environment of its own.
    Why it matters:
        A shared Environment would be ignored (settings are read from each environment's own
        folder), so defaults meant for all would apply to none, silently; a shared Approval would
        approve a model everywhere at once, bypassing each environment's approvers.
    Wrong: defaults for every environment in _shared/
        # file: environments/_shared/environment.yaml
        ...
        apiVersion: llmops.io/v1
        kind: Environment
        metadata:
          name: defaults
    Right: the settings in the environment they apply to
        # file: environments/dev/environment.yaml
        # The settings, in the environment they apply to.
        apiVersion: llmops.io/v1
        kind: Environment
        metadata:
          name: dev
    """
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
    own = [manifest for manifest in env.manifests if manifest.origin == env.name]
    if settings is None and env.name in FOLDERS_INSIDE_AN_ENVIRONMENT and own:
        folder = f"{ENVIRONMENTS_DIR}/{env.name}"
        yield Finding(
            own[0],
            ("kind",),
            f"`{folder}/` is read as an environment named `{env.name}`, but it has no "
            "Environment manifest and is named like a folder inside an environment",
            f"move it into an environment's folder (environments/<env>/{env.name}/); if "
            f"`{env.name}` is meant as an environment, give it {folder}/environment.yaml",
            span=Span(folder, 1, 1),
        )


# the folders the estate's README, `llmops init` and the examples put inside an environment
FOLDERS_INSIDE_AN_ENVIRONMENT = frozenset(
    {"serving", "approvals", "catalog", "training", "prompts", "experiments", "datasets", "models"}
)

CHECKS = (
    model_not_approved,
    approval_digest_stale,
    approver_role_not_allowed,
    approved_status_without_approval,
    environment_mismatch,
    misplaced_manifest,
)
