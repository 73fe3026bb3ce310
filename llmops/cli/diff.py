"""`llmops diff`: what a change does to the cluster, rendered from both revisions.

The base is read from git objects (the checkout is never touched); the head is the working tree
unless `--head` names a revision. Either side failing validation is reported, never hidden.
"""

from __future__ import annotations

import sys

import click

from compiler.diagnostics import Severity
from compiler.diff.changes import Side, diff_estates
from compiler.diff.formats import FORMATTERS
from compiler.errors import LlmopsError
from compiler.load.tree import DirectoryTree, RepoTree
from compiler.pipeline import collector_paused, validate_repository
from compiler.render.estate import RenderedEstate, render_estate
from compiler.resolve.estate import ResolvedEstate
from llmops.cli import exit_codes, options
from llmops.estate import find_estate_root
from llmops.reporting import print_report


class _Absent:
    """A side without the estate, or without the environment asked for: why (its error)."""

    def __init__(self, error: LlmopsError) -> None:
        self.error = error


def _render_side(label: str, tree: RepoTree, env: str | None) -> Side | _Absent | None:
    """The side's estate and objects; None (after reporting why) when it has errors; `_Absent`
    when it has no estate, or not the environment asked for."""
    try:
        result = validate_repository(tree, env)
    except LlmopsError as error:
        from llmops.gitops.object_store import MissingObject

        if isinstance(error, MissingObject):
            raise  # an incomplete repository is not an empty side
        return _Absent(error)
    errors = [d for d in result.diagnostics if d.severity is Severity.ERROR]
    if errors:
        print(
            f"llmops: the {label} has {len(errors)} error(s); nothing was compared", file=sys.stderr
        )
        print_report(errors, result, "text", sys.stderr)
        return None
    return result.estate, render_estate(result.estate, include_argocd=env is None)


def diff(
    *, repo: str | None, base: str, head: str | None, env: str | None, output_format: str
) -> int:
    with collector_paused():  # as in render: two estates are built and compared, nothing to collect
        return _diff(repo=repo, base=base, head=head, env=env, output_format=output_format)


def _diff(
    *, repo: str | None, base: str, head: str | None, env: str | None, output_format: str
) -> int:
    from llmops.gitops.plumbing import resolve_commit
    from llmops.gitops.tree import GitTree, open_repository

    root = find_estate_root(repo)
    git_repo, prefix = open_repository(root)
    base_tree = GitTree(resolve_commit(git_repo, base), prefix)
    head_tree: RepoTree = (
        DirectoryTree(root) if head is None else GitTree(resolve_commit(git_repo, head), prefix)
    )
    base_label, head_label = f"base ({base})", f"head ({head or 'working tree'})"
    base_side = _render_side(base_label, base_tree, env)
    head_side = _render_side(head_label, head_tree, env)
    if base_side is None or head_side is None:
        return exit_codes.USAGE
    if isinstance(base_side, _Absent) and isinstance(head_side, _Absent):
        # nothing on either side: a misspelt --env (or the wrong REPO), not "no changes"
        base_why, head_why = base_side.error.message, head_side.error.message
        raise LlmopsError(
            f"{head_why}, neither at the {base_label} nor at the {head_label}"
            if base_why == head_why
            else f"neither side has it: at the {base_label}, {base_why}; at the {head_label}, "
            f"{head_why}",
            hint=head_side.error.hint or base_side.error.hint,
        )
    # No estate (or not this environment) on one side: everything on the other side is new.
    empty: Side = (ResolvedEstate(environments=[]), RenderedEstate())
    result = diff_estates(
        empty if isinstance(base_side, _Absent) else base_side,
        empty if isinstance(head_side, _Absent) else head_side,
    )
    sys.stdout.write(FORMATTERS[output_format](result))
    return exit_codes.OK if result.empty else exit_codes.FAILED


command = click.Command(
    "diff",
    callback=diff,
    help="what a change does to the cluster (exit 1 when something changes)\n\nBoth sides are "
    "rendered: the base (and --head) from git objects, the default head from the working tree. "
    "Exit 2 when either side fails validation.\n\n" + options.REPO_HELP,
    params=[
        options.repo_argument(),
        click.Option(
            ["--base"], required=True, metavar="REV", help="the revision to compare against"
        ),
        click.Option(["--head"], metavar="REV", help="default: the working tree"),
        options.env_option("only this environment"),
        options.format_option(("text", "markdown", "json")),
    ],
)
