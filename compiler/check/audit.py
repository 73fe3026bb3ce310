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
    """What it checks:
        With `validate --audit`: the commit that added or last changed an Approval is authored by
        the approver it names. An author is `alice` when their e-mail is listed under
        `approval.identities.alice` in environment.yaml, or, without such a list, when the e-mail's
        local part or the author name is `alice`.
    Why it matters:
        An Approval is a file anyone with write access can type; without the audit anyone could
        approve in someone else's name. Git records who committed it, so the approval counts only if
        the approver did.
    Wrong: Mallory commits an approval in Alice's name
        # file: environments/prod/approvals/support-model-1-0-alice.yaml
          approvedBy: alice
          role: admin
        $ git log --format='%an <%ae>: %s'
        Mallory <mallory@example.com>: Approve support-model 1.0
        Carol Owner <carol@example.com>: Add the model and its endpoint
    Right: Alice commits her own approval
        # file: environments/prod/approvals/support-model-1-0-alice.yaml
          approvedBy: alice
          role: admin
        $ git log --format='%an <%ae>: %s'
        Alice Approver <alice@example.com>: Approve support-model 1.0
        Carol Owner <carol@example.com>: Add the model and its endpoint
    """
    identities = env.settings.approval.identities
    if env.provenance is not None:
        for approval in env.of_kind("Approval"):
            why = env.provenance.outside_history.get(document_key(approval))
            if why is not None:
                yield Finding(
                    approval,
                    ("spec", "approvedBy"),
                    f"approved by `{approval.spec.approved_by}`, but {why}: who committed it "
                    "cannot be audited here",
                    "commit the approval into this repository itself",
                )
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
    """What it checks:
        With `validate --audit`: the approver an Approval names is not the author of the last change
        to the Model manifest it approves, nor, for a trained model, to its training job or
        dataset, which the approval's digest covers too (four eyes). The note points at what was
        changed and names who changed it.
    Why it matters:
        If the person who changed a model may approve it, one person can ship any change alone, and
        the approval certifies nothing. Another approver must review what was changed.
    Wrong: Alice changed the model and approves it herself
        # file: environments/prod/approvals/support-model-1-0-alice.yaml
          approvedBy: alice
        $ git log --format='%an <%ae>: %s'
        Alice Approver <alice@example.com>: Approve support-model 1.0
        Alice Approver <alice@example.com>: Add the model and its endpoint
    Right: Carol changed the model, Alice approves it
        # file: environments/prod/approvals/support-model-1-0-alice.yaml
          approvedBy: alice
        $ git log --format='%an <%ae>: %s'
        Alice Approver <alice@example.com>: Approve support-model 1.0
        Carol Owner <carol@example.com>: Add the model and its endpoint
    """
    if env.provenance is None:
        return
    identities = env.settings.approval.identities
    for approval, _ in _approvals(env):
        model = env.resolve_model(approval.spec.model_id).manifest
        if model is None:
            continue
        approver = approval.spec.approved_by
        for covered in approved_manifests(env, approval):
            changed = env.provenance.last_change.get(document_key(covered))
            if changed is None or not is_person(changed, approver, identities):
                continue
            what = "manifest" if covered is model else f"{_COVERED[covered.kind]} ({covered.name})"
            yield Finding(
                approval,
                ("spec", "approvedBy"),
                f"`{approver}` approves {model.name}@{model.version}, "
                f"whose {what} they last changed themselves ({changed.revision[:12]})",
                "another approver must review and approve this model",
                related=(RelatedPlace(covered, ("spec",), f"last changed by {changed.author}"),),
            )
            break


# what an approval of a trained model covers besides the model, as a model's part
_COVERED = {"TrainingJob": "training job", "Dataset": "training dataset"}


def approved_manifests(
    env: ResolvedEnvironment, approval: Manifest[ApprovalSpec]
) -> list[Manifest]:
    """What an approval's digest covers: the model it names and, for a model trained here, the
    training job and its dataset (a retrained model is another model to review)."""
    from compiler.resolve.lineage import lineage_of

    model = env.resolve_model(approval.spec.model_id).manifest
    if model is None:
        return []
    lineage = lineage_of(env, model)
    return [model, *(part for part in (lineage.job, lineage.dataset) if part is not None)]


@rule(
    "G003",
    "approval-commit-unsigned",
    E,
    "The environment requires signed approval commits; this one is not signed.",
    category=Category.AUDIT,
)
def approval_commit_unsigned(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        With `validate --audit`, in an environment with `approval.signedCommits: true`: the commit
        that added or last changed each Approval carries a signature (GPG, SSH or X.509). Presence
        is checked; verifying it against trusted keys is the job of the forge's branch protection or
        `git verify-commit`.
    Why it matters:
        A commit's author is whatever the committer's git configuration says; a signature ties the
        approval to a key only its owner holds, so G001's "authored by the approver" cannot be
        forged by setting `user.name`.
    Wrong: prod requires signed approvals; Alice's commit has no signature
        # file: environments/prod/approvals/support-model-1-0-alice.yaml
          approvedBy: alice
        $ git cat-file -p HEAD
        tree ...
        parent ...
        author Alice Approver <alice@example.com> 1767225600 +0000
        committer Alice Approver <alice@example.com> 1767225600 +0000

        Approve support-model 1.0
    Right: committed with `git commit -S`
        $ git cat-file -p HEAD
        tree ...
        parent ...
        author Alice Approver <alice@example.com> 1767225600 +0000
        committer Alice Approver <alice@example.com> 1767225600 +0000
        gpgsig -----BEGIN SSH SIGNATURE-----
        ...

        Approve support-model 1.0
    """
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
    """What it checks:
        With `validate --audit`: every Approval is as committed at HEAD. One that is new or changed
        in the working tree has no author yet, so G001-G003 cannot judge it.
    Why it matters:
        The audit judges commits; an uncommitted approval is neither trusted nor refused, and this
        says so rather than pass it in silence. A warning, because CI audits the commit itself once
        it exists.
    Wrong: the approval was edited after it was committed
        # file: environments/prod/approvals/support-model-1-0-alice.yaml
          approvedBy: alice
        $ git status --short
         M environments/prod/approvals/support-model-1-0-alice.yaml
    Right: the approval is audited as committed
        # file: environments/prod/approvals/support-model-1-0-alice.yaml
          approvedBy: alice
        $ git status --short
    """
    if env.provenance is None:
        return
    for approval in env.of_kind("Approval"):
        key = document_key(approval)
        if key in env.provenance.outside_history:
            continue  # G001
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
