"""`llmops promote`: prepare a promotion as a new branch with one commit; the checkout is not touched."""

from __future__ import annotations

import posixpath
import sys

from compiler.diagnostics import Severity
from compiler.digest import model_digest
from compiler.errors import LlmopsError
from compiler.load.overlay import OverlayTree
from compiler.load.text import manifest_text
from compiler.pipeline import collector_paused, validate_repository
from compiler.resolve.environment import ResolvedEnvironment
from llmops.cli import exit_codes
from llmops.cli.repo import find_estate_root
from llmops.cli.validate import print_report
from llmops.promote import PromotionPlan

_ORDER_RULE = "P012"
_APPROVAL_RULES = frozenset({"P001", "P002", "P003", "P004", "P005", "P006"})


def approvals_needed(env: ResolvedEnvironment, model_id: str) -> tuple[int, list[str]]:
    """How many more distinct approvers the model needs in `env`, and who approved it already."""
    model = env.resolve_model(model_id).manifest
    if model is None:
        return env.settings.approval.min_approvers, []
    digest = model_digest(model.model)
    approvers = sorted({a.spec.approved_by for a in env.of_kind("Approval")
                        if a.spec.status == "approved" and a.spec.model_digest == digest
                        and env.resolve_model(a.spec.model_id).manifest is model})
    return max(0, env.settings.approval.min_approvers - len(approvers)), approvers


def commit_message(plan: PromotionPlan, head: str) -> str:
    lines = [f"Promote ServingEndpoint {plan.endpoint} from {plan.source} to {plan.target}", "",
             f"Serves {plan.model_id}. Changes:"]
    lines.extend(f"- {action}" for action in plan.actions)
    lines.extend(["", f"Promoted-From: {plan.source}@{head}"])
    return "\n".join(lines) + "\n"


def promote(repo: str | None, endpoint: str, source: str, target: str, branch: str | None) -> int:
    with collector_paused():
        return _promote(repo, endpoint, source, target, branch)


def _promote(repo: str | None, endpoint: str, source: str, target: str, branch: str | None) -> int:
    from llmops.gitops.commits import build_commit, create_branch, current_commit
    from llmops.gitops.tree import GitTree, open_repository
    from llmops.promote import plan_promotion

    if source == target:
        raise LlmopsError("--from and --to name the same environment")
    root = find_estate_root(repo)
    git_repo, prefix = open_repository(root)
    head = current_commit(git_repo)
    tree = GitTree(head, prefix)
    before = validate_repository(tree)
    environments = {env.name: env for env in before.estate.environments}
    for name in (source, target):
        if name not in environments:
            raise LlmopsError(f"environment `{name}` does not exist at HEAD",
                              hint=f"environments: {', '.join(environments)}")
    source_errors = [d for d in before.diagnostics if d.severity is Severity.ERROR
                     and d.span.file.startswith((f"environments/{source}/", "environments/_shared/"))]
    if source_errors:
        print(f"llmops: {source} has {len(source_errors)} error(s) at HEAD; fix them before promoting from it",
              file=sys.stderr)
        print_report(source_errors, before, "text", sys.stderr)
        return exit_codes.FAILED
    plan = plan_promotion(environments[source], environments[target], endpoint,
                          lambda path: manifest_text(tree, path))
    if not plan.files:
        print(f"nothing to promote: {target} already runs `{endpoint}` as {source} does")
        return exit_codes.OK
    branch_name = branch or f"promote/{endpoint}-{source}-to-{target}"
    changes = {path: text.encode() for path, text in plan.files.items()}
    after = validate_repository(OverlayTree(tree, changes), target)
    out_of_order = [d for d in after.diagnostics if d.code == _ORDER_RULE]
    if out_of_order:
        print(f"llmops: {target} only serves what its promotion policy's environment serves; nothing was created",
              file=sys.stderr)
        print_report(out_of_order, after, "text", sys.stderr)
        return exit_codes.FAILED
    commit = build_commit(git_repo, head, {posixpath.join(prefix, p) if prefix else p: c for p, c in changes.items()},
                          commit_message(plan, head.hexsha))
    create_branch(git_repo, branch_name, commit)
    print(f"created branch {branch_name} at {commit.hexsha[:12]} (not pushed; your checkout is unchanged)")
    for action in plan.actions:
        print(f"  {action}")
    missing, approvers = approvals_needed(after.estate.environments[0], plan.model_id)
    settings = after.estate.environments[0].settings.approval
    if missing:
        role = settings.roles[0] if len(settings.roles) == 1 else f"<{' | '.join(settings.roles)}>"
        already = f" (approved so far by {', '.join(approvers)})" if approvers else ""
        print(f"\n{target} needs {missing} more approval(s) of {plan.model_id}{already}; each approver runs, "
              f"on the branch:\n  git switch {branch_name}")
        print(f"  llmops approve {plan.model_id} --env {target} --by <user-id> --role {role}")
    others = [d for d in after.diagnostics if d.severity is Severity.ERROR and d.code not in _APPROVAL_RULES]
    if others:
        print(f"\n{target} has {len(others)} other error(s) to fix on the branch before merging:")
        print_report(others, after, "text", sys.stdout)
        return exit_codes.FAILED
    return exit_codes.OK
