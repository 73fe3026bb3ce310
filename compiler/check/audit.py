"""The approval audit (code family G, git): approvals are genuine, judged from who committed what.

These rules only speak under `llmops validate --audit`, which reads each document's last change from
git history; without that history they have nothing to judge and report nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

from compiler.check.rule import Finding, RelatedPlace, rule
from compiler.diagnostics import Category, Severity
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.resolve.provenance import Authorship, document_key, is_person
from compiler.spec.approval import ApprovalSpec

E = Severity.ERROR
W = Severity.WARNING


def _approvals(env: ResolvedEnvironment) -> Iterator[tuple[Manifest[ApprovalSpec], Authorship]]:
    """Approvals whose last change is committed, with that change."""
    if env.provenance is None:
        return
    for approval in env.of_kind("Approval"):
        authorship = env.provenance.last_change.get(document_key(approval))
        if authorship is not None:
            yield approval, authorship


@rule(
    "G001",
    "approval-not-by-approver",
    E,
    "An Approval was committed by someone other than the approver.",
    category=Category.AUDIT,
)
def approval_not_by_approver(env: ResolvedEnvironment) -> Iterator[Finding]:
    """An Approval says `approvedBy: alice`; the commit that added or last changed it must be
    authored by alice, or anyone could approve in her name. An author is alice when their e-mail is
    listed under `approval.identities.alice` in environment.yaml, or, without such a list, when the
    e-mail's local part or the author name is `alice`. Fix: the approver commits the approval
    themselves (`llmops approve`)."""
    identities = env.settings.approval.identities
    for approval, authorship in _approvals(env):
        approver = approval.spec.approved_by
        if not is_person(authorship, approver, identities):
            yield Finding(
                approval,
                ("spec", "approvedBy"),
                f"approved by `{approver}`, but committed in "
                f"{authorship.revision[:12]} by {authorship.author}",
                f"{approver} commits the approval (llmops approve ... --by {approver}); if that is "
                f"{approver}'s address, list it under approval.identities.{approver}",
            )


@rule(
    "G002",
    "approver-changed-model",
    E,
    "The approver also made the last change to the approved model.",
    category=Category.AUDIT,
)
def approver_changed_model(env: ResolvedEnvironment) -> Iterator[Finding]:
    """Four eyes: whoever last changed a Model manifest must not be the one approving it, or a
    single person could ship any change. Fix: another person from the approver roles reviews and
    approves."""
    if env.provenance is None:
        return
    identities = env.settings.approval.identities
    for approval, _ in _approvals(env):
        model = env.resolve_model(approval.spec.model_id).manifest
        if model is None:
            continue
        changed = env.provenance.last_change.get(document_key(model))
        approver = approval.spec.approved_by
        if changed is not None and is_person(changed, approver, identities):
            yield Finding(
                approval,
                ("spec", "approvedBy"),
                f"`{approver}` approves {model.name}@{model.version}, "
                f"whose manifest they last changed themselves ({changed.revision[:12]})",
                "another approver must review and approve this model",
                related=(RelatedPlace(model, ("spec",), f"last changed by {changed.author}"),),
            )


@rule(
    "G003",
    "approval-commit-unsigned",
    E,
    "The environment requires signed approval commits; this one is not signed.",
    category=Category.AUDIT,
)
def approval_commit_unsigned(env: ResolvedEnvironment) -> Iterator[Finding]:
    """With `approval.signedCommits: true`, the commit that added or last changed an Approval must
    carry a signature (GPG, SSH or X.509). The audit checks that a signature is present; verifying
    it against trusted keys is the job of the forge's branch protection or `git verify-commit`. Fix:
    commit the approval with `git commit -S`."""
    if not env.settings.approval.signed_commits:
        return
    for approval, authorship in _approvals(env):
        if not authorship.signed:
            yield Finding(
                approval,
                ("spec", "approvedBy"),
                f"the approval was committed unsigned in "
                f"{authorship.revision[:12]} by {authorship.author}",
                "re-commit it signed (git commit -S)",
            )


@rule(
    "G004",
    "approval-not-committed",
    W,
    "An Approval differs from the committed one, so it cannot be audited.",
    category=Category.AUDIT,
)
def approval_not_committed(env: ResolvedEnvironment) -> Iterator[Finding]:
    """The audit judges commits. An Approval that is new or changed in the working tree has no
    author yet; it is audited once committed (CI audits the commit itself). Fix: commit it."""
    if env.provenance is None:
        return
    for approval in env.of_kind("Approval"):
        key = document_key(approval)
        if key in env.provenance.last_change and env.provenance.last_change[key] is None:
            yield Finding(
                approval,
                ("spec", "approvedBy"),
                "this approval is not committed yet; the audit cannot tell who wrote it",
                "commit it, then audit again",
            )


CHECKS = (
    approval_not_by_approver,
    approver_changed_model,
    approval_commit_unsigned,
    approval_not_committed,
)
