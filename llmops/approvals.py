"""Create Approval manifests: the digest of the model as it is now, and a file path per approver."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from compiler.errors import LlmopsError
from compiler.load.estate import ENVIRONMENTS_DIR
from compiler.printable import shown_argument
from compiler.records import record
from compiler.resolve.approvals import current_digest
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.spec.base import API_VERSION
from compiler.spec.formats import same_person_key
from compiler.spec.model import ModelSpec


def approvals_folder(env: str) -> str:
    """Where `llmops approve` writes an environment's approvals, relative to the estate."""
    return f"{ENVIRONMENTS_DIR}/{env}/approvals"


@record
class ApprovalPlan:
    path: str  # repo-relative
    document: dict[str, Any]
    replaces: bool  # an existing approval by the same person is updated


def _label(text: str) -> str:
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return cleaned[:63].rstrip("-") or "x"


def plan_approval(
    env: ResolvedEnvironment, model_reference: str, approver: str, role: str, notes: str | None
) -> ApprovalPlan:
    """Decide the Approval document and where it goes. Raises LlmopsError for what cannot be
    approved."""
    result = env.resolve_model(model_reference)
    if result.manifest is None:
        known = ", ".join(result.candidates) or "none"
        versions = [c for c in result.candidates if c.partition("@")[0] == model_reference]
        if "@" not in model_reference and versions:
            # the name is right: an approval is of one version (`name@version`)
            raise LlmopsError(
                f"model `{model_reference}` needs a version: an approval is of one version "
                f"(in environment `{env.name}`: {', '.join(versions)})",
                hint=f"llmops approve {versions[-1]} ...",
            )
        raise LlmopsError(
            f"model `{shown_argument(model_reference)}` does not exist in environment `{env.name}` "
            f"(models: {known})"
        )
    model: Manifest[ModelSpec] = result.manifest
    roles = env.settings.approval.roles
    if role not in roles:
        raise LlmopsError(
            f"role `{shown_argument(role)}` may not approve models in environment `{env.name}`",
            hint=f"allowed roles: {', '.join(roles)}",
        )
    name = _label(f"{model.name}-{model.version}-{approver}")
    spec: dict[str, Any] = {
        "modelId": f"{model.name}@{model.version}",
        "status": "approved",
        "approvedBy": approver,
        "role": role,
        "modelDigest": current_digest(env, model),
    }
    if notes:
        spec["notes"] = notes
    document: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "Approval",
        "metadata": {"name": name},
        "spec": spec,
    }
    existing = [
        approval
        for approval in env.of_kind("Approval")
        if approval.origin == env.name
        and same_person_key(approval.spec.approved_by) == same_person_key(approver)
        and env.resolve_model(approval.spec.model_id).manifest is model
    ]
    if existing:
        target = existing[0]
        if _documents_in(env, target) > 1:
            raise LlmopsError(
                f"{target.file} holds {approver}'s earlier approval among other documents",
                hint="update its modelDigest by hand, or move it to a file of its own",
            )
        document["metadata"]["name"] = target.name
        return ApprovalPlan(path=target.file, document=document, replaces=True)
    taken = {
        (other.name, other.file) for other in env.of_kind("Approval") if other.origin == env.name
    }
    path = f"{approvals_folder(env.name)}/{name}.yaml"
    if any(name == other_name or path == other_file for other_name, other_file in taken):
        # another approver whose name makes the same label (`Zoë` and `Zoé` are both `zo`): the
        # approver's own digest tells them apart
        suffix = hashlib.sha256(approver.encode("utf-8")).hexdigest()[:8]
        name = f"{name[: 63 - len(suffix) - 1].rstrip('-')}-{suffix}"
        document["metadata"]["name"] = name
        path = f"{approvals_folder(env.name)}/{name}.yaml"
    return ApprovalPlan(path=path, document=document, replaces=False)


def _documents_in(env: ResolvedEnvironment, manifest: Manifest) -> int:
    return sum(1 for other in env.manifests if other.file == manifest.file)


def approval_exists_elsewhere(root: Path, plan: ApprovalPlan) -> bool:
    return not plan.replaces and (root / plan.path).exists()
