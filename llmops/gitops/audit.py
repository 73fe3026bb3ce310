"""Read, from git history, who last changed each Approval and each approved Model (for
`--audit`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from compiler.check.audit import approved_manifests
from compiler.load.estate import SHARED_ENV
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.resolve.provenance import Authorship, DocumentKey, Provenance, document_key
from llmops.gitops.commits import subject
from llmops.gitops.snapshots import EstateSnapshots, document_digest

if TYPE_CHECKING:
    import git


def _authorship(commit: git.Commit) -> Authorship:
    return Authorship(
        revision=commit.hexsha,
        author_name=str(commit.author.name or ""),
        author_email=str(commit.author.email or ""),
        signed=bool(commit.gpgsig),
        subject=subject(commit),
    )


def _audited(env: ResolvedEnvironment) -> list[Manifest]:
    """The environment's Approvals and what each approves: the model, and for a trained model the
    training job and dataset its approval digest covers (in another environment too: a model
    trained in dev and approved in stg)."""
    manifests: dict[int, Manifest] = {}
    for approval in env.of_kind("Approval"):
        manifests[id(approval)] = approval
        for covered in approved_manifests(env, approval):
            manifests[id(covered)] = covered
    return list(manifests.values())


def environment_provenance(
    snapshots: EstateSnapshots, head: git.Commit, env: ResolvedEnvironment, from_working_tree: bool
) -> Provenance:
    """For each audited document, the newest commit (reachable from `head`) whose version of it
    differs from every parent's version, i.e. the commit that added or last changed it. A document
    whose checked-out content differs from `head` (when validating the working tree) gets None: it
    has no author yet."""
    provenance = Provenance()
    pending: dict[DocumentKey, str] = {}
    for manifest in _audited(env):
        key = document_key(manifest)
        committed = snapshots.folder(head, manifest.origin).get(key[1:])
        submodule = snapshots.submodule_holding(head, manifest.file)
        if committed is None and submodule is not None:
            provenance.outside_history[key] = (
                f"{manifest.file} is in the git submodule {submodule}, committed in another "
                "repository"
            )
            provenance.last_change[key] = None
        elif committed is None or (
            from_working_tree and committed.digest != document_digest(manifest.document.data)
        ):
            provenance.last_change[key] = None
        else:
            pending[key] = committed.digest
    if not pending:
        return provenance
    others = tuple(sorted({key[0] for key in pending} - {env.name, SHARED_ENV}))
    for commit in snapshots.commits(head, env.name, others):
        for key in list(pending):
            origin, identity = key[0], key[1:]
            here = snapshots.folder(commit, origin).get(identity)
            digest = here.digest if here is not None else None
            parents = [snapshots.folder(parent, origin).get(identity) for parent in commit.parents]
            if digest != pending[key]:
                # a version that is not the one HEAD has (e.g. on a side branch a merge did not
                # take)
                continue
            if all(state is None or state.digest != digest for state in parents):
                provenance.last_change[key] = _authorship(commit)
                del pending[key]
        if not pending:
            break
    return provenance
