"""An endpoint's history: the commits that changed it or what it depends on, newest first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from compiler.diff.footprint import Footprint, describe_changes, endpoint_footprint
from compiler.errors import LlmopsError
from compiler.printable import shown_argument
from compiler.records import record
from llmops.gitops.snapshots import EstateSnapshots

if TYPE_CHECKING:
    import git

# first-parent commits searched back for a readable version of an endpoint
MAX_UNREADABLE_RUN = 200


@record
class EndpointChange:
    commit: git.Commit
    lines: tuple[str, ...]  # what changed, for people
    manifest_changed: bool  # the endpoint's own manifest changed (what rollback undoes)
    before: Footprint | None
    after: Footprint | None


def unknown_endpoint(
    snapshots: EstateSnapshots, head: git.Commit, env: str, endpoint: str
) -> LlmopsError:
    """The error for an endpoint that is neither at HEAD nor in its history, naming the ones that
    are."""
    known = sorted(
        name for kind, name, _ in snapshots.effective(head, env) if kind == "ServingEndpoint"
    )
    return LlmopsError(
        f"no endpoint `{shown_argument(endpoint)}` in {env}, now or in its history",
        hint=f"endpoints in {env}: {', '.join(known) or 'none'}",
    )


class EndpointHistory:
    """Footprints of one endpoint in one environment, per commit (cached: parents are asked for
    twice)."""

    def __init__(self, snapshots: EstateSnapshots, env: str, endpoint: str):
        self.snapshots = snapshots
        self.env = env
        self.endpoint = endpoint
        self._footprints: dict[str, Footprint | None] = {}

    def footprint(self, commit: git.Commit) -> Footprint | None:
        if commit.hexsha not in self._footprints:
            documents = {
                key: state.data for key, state in self.snapshots.effective(commit, self.env).items()
            }
            self._footprints[commit.hexsha] = endpoint_footprint(documents, self.endpoint, self.env)
        return self._footprints[commit.hexsha]

    def unreadable(self, commit: git.Commit) -> dict[str, str] | None:
        """When the endpoint is missing at ``commit`` because files there cannot be read (a
        syntax error, bytes that are not UTF-8, a file over the size limit): those files and why;
        else None (the endpoint is there, or really absent)."""
        if self.footprint(commit) is not None:
            return None
        return self.snapshots.unreadable(commit, self.env) or None

    def readable_footprint(self, commit: git.Commit) -> Footprint | None:
        """The footprint at ``commit``, or, where it cannot be read, at the nearest first-parent
        ancestor where it can: the change a commit that repairs a file makes is against what the
        file said before it broke."""
        for _ in range(MAX_UNREADABLE_RUN):
            if self.unreadable(commit) is None or not commit.parents:
                break
            commit = commit.parents[0]
        return self.footprint(commit)

    def changes(self, head: git.Commit) -> Iterator[EndpointChange]:
        """Commits whose footprint differs from every parent's (a merge that took one side as it was
        did not change anything); described against the first parent. A commit where the
        endpoint's manifests cannot be read says so (it is no removal), and the commit after it
        is described against the last version that could be read."""
        for commit in self.snapshots.commits(head, self.env):
            problems = self.unreadable(commit)
            if problems is not None:
                if any(self.unreadable(parent) == problems for parent in commit.parents):
                    continue  # unreadable as before
                yield EndpointChange(
                    commit,
                    tuple(
                        f"cannot be read here: {path}: {why}"
                        for path, why in sorted(problems.items())[:3]
                    ),
                    False,
                    None,
                    None,
                )
                continue
            after = self.footprint(commit)
            befores = [self.readable_footprint(parent) for parent in commit.parents] or [None]
            if any(before == after for before in befores):
                continue
            before = befores[0]
            manifest_changed = (before or {}).get("endpoint") != (after or {}).get("endpoint")
            yield EndpointChange(
                commit, tuple(describe_changes(before, after)), manifest_changed, before, after
            )
