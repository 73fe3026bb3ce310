"""An endpoint's history: the commits that changed it or what it depends on, newest first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from compiler.diff.footprint import Footprint, describe_changes, endpoint_footprint
from compiler.errors import LlmopsError
from compiler.records import record
from llmops.gitops.snapshots import EstateSnapshots

if TYPE_CHECKING:
    import git


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
        f"no endpoint `{endpoint}` in {env}, now or in its history",
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

    def changes(self, head: git.Commit) -> Iterator[EndpointChange]:
        """Commits whose footprint differs from every parent's (a merge that took one side as it was
        did not change anything); described against the first parent."""
        for commit in self.snapshots.commits(head, self.env):
            after = self.footprint(commit)
            befores = [self.footprint(parent) for parent in commit.parents] or [None]
            if any(before == after for before in befores):
                continue
            before = befores[0]
            manifest_changed = (before or {}).get("endpoint") != (after or {}).get("endpoint")
            yield EndpointChange(
                commit, tuple(describe_changes(before, after)), manifest_changed, before, after
            )
