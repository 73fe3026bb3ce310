"""One environment after the `_shared` merge: its settings, manifests and indexes."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, overload

from compiler.load.tree import RepoTree
from compiler.resolve.gaps import Gap
from compiler.resolve.manifest import Manifest
from compiler.resolve.peers import PeerMap, peer_log
from compiler.resolve.provenance import Provenance
from compiler.resolve.refs import RefResult, VersionedIndex
from compiler.spec.approval import ApprovalSpec
from compiler.spec.dataset import DatasetSpec
from compiler.spec.environment import EnvironmentSpec
from compiler.spec.model import ModelSpec
from compiler.spec.prompt import PromptExperimentSpec, PromptTemplateSpec
from compiler.spec.serving import ServingEndpointSpec
from compiler.spec.training import TrainingJobSpec

T = TypeVar("T")
# the key, in `ResolvedEnvironment.cache`, of the peers each remembered value was computed from
_PEERS_READ = object()


@dataclass(eq=False, repr=False)
class ResolvedEnvironment:
    """What one environment deploys. ``manifests`` are in file order; ``_shared`` ones are included
    unless the environment defines the same identity itself."""

    name: str
    tree: RepoTree
    settings: EnvironmentSpec
    settings_manifest: Manifest[EnvironmentSpec] | None
    manifests: list[Manifest]
    duplicates: list[tuple[Manifest, Manifest]] = field(default_factory=list)
    misplaced: list[Manifest] = field(default_factory=list)  # kinds that cannot come from _shared
    models: VersionedIndex[ModelSpec] = field(default_factory=VersionedIndex)
    datasets: VersionedIndex[DatasetSpec] = field(default_factory=VersionedIndex)
    named: dict[str, dict[str, Manifest]] = field(default_factory=dict)  # kind -> name -> manifest
    # kind -> names that failed validation
    broken_names: dict[str, set[str]] = field(default_factory=dict)
    cache: dict[Any, Any] = field(default_factory=dict)  # shared by all environments of one run
    provenance: Provenance | None = None  # git authorship, only for `validate --audit`
    # the run's other environments
    peers: dict[str, ResolvedEnvironment] = field(default_factory=PeerMap, repr=False)
    gaps: list[Gap] = field(default_factory=list)  # manifests it may have that could not be read
    settings_gap: Gap | None = None  # set when its settings themselves may be among them
    _by_kind: dict[str, list[Manifest]] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        _made.add(self)

    def release(self) -> None:
        """Let go of the run's values and the other environments (`release_environments`)."""
        self.cache.clear()
        self.peers = PeerMap()
        self._by_kind = None

    @property
    def namespace(self) -> str:
        return self.settings.namespace or f"llm-ops-{self.name}"

    # One overload per kind (compiler/spec/kinds.py; a test keeps them in step): the kind's name
    # gives its manifests their spec model, so `spec.min_replica` is a type error.
    @overload
    def of_kind(self, kind: Literal["Environment"]) -> Sequence[Manifest[EnvironmentSpec]]: ...
    @overload
    def of_kind(self, kind: Literal["Dataset"]) -> Sequence[Manifest[DatasetSpec]]: ...
    @overload
    def of_kind(self, kind: Literal["Model"]) -> Sequence[Manifest[ModelSpec]]: ...
    @overload
    def of_kind(self, kind: Literal["Approval"]) -> Sequence[Manifest[ApprovalSpec]]: ...
    @overload
    def of_kind(self, kind: Literal["TrainingJob"]) -> Sequence[Manifest[TrainingJobSpec]]: ...
    @overload
    def of_kind(
        self, kind: Literal["ServingEndpoint"]
    ) -> Sequence[Manifest[ServingEndpointSpec]]: ...
    @overload
    def of_kind(
        self, kind: Literal["PromptTemplate"]
    ) -> Sequence[Manifest[PromptTemplateSpec]]: ...
    @overload
    def of_kind(
        self, kind: Literal["PromptExperiment"]
    ) -> Sequence[Manifest[PromptExperimentSpec]]: ...
    def of_kind(self, kind: str) -> Sequence[Manifest]:
        """Manifests of one kind in file order (indexed once: every rule asks for its kinds)."""
        if self._by_kind is None:
            self._by_kind = {}
            for manifest in self.manifests:
                self._by_kind.setdefault(manifest.kind, []).append(manifest)
        return self._by_kind.get(kind, [])

    def remember(self, key: Any, compute: Callable[[], T]) -> T:
        """`compute()` once per run and key (the cache is shared by the run's environments, so a key
        naming a `_shared` manifest is computed once for all of them). The peers the computation
        read count as read wherever the value is handed out (compiler/resolve/peers.py)."""
        cache = self.cache
        if key in cache:
            read = cache[_PEERS_READ].get(key) if _PEERS_READ in cache else None
            if read:
                peer_log().extend(read)
        else:
            log = peer_log()
            start = len(log)
            cache[key] = compute()
            if len(log) > start:
                cache.setdefault(_PEERS_READ, {})[key] = tuple(sorted(set(log[start:])))
        value: T = self.cache[key]
        return value

    def gaps_holding(self, kinds: frozenset[str]) -> list[Gap]:
        """The gaps that may hold a manifest of one of ``kinds`` (checks needing all of them skip
        then)."""
        return [gap for gap in self.gaps if gap.may_hold(kinds)]

    def resolve_model(self, reference: str) -> RefResult[ModelSpec]:
        return self.models.resolve(reference)

    def resolve_dataset(self, reference: str) -> RefResult[DatasetSpec]:
        return self.datasets.resolve(reference)

    # The unversioned kinds, typed like `of_kind`.
    @overload
    def resolve_named(
        self, kind: Literal["Environment"], name: str
    ) -> RefResult[EnvironmentSpec]: ...
    @overload
    def resolve_named(self, kind: Literal["Approval"], name: str) -> RefResult[ApprovalSpec]: ...
    @overload
    def resolve_named(
        self, kind: Literal["TrainingJob"], name: str
    ) -> RefResult[TrainingJobSpec]: ...
    @overload
    def resolve_named(
        self, kind: Literal["ServingEndpoint"], name: str
    ) -> RefResult[ServingEndpointSpec]: ...
    @overload
    def resolve_named(
        self, kind: Literal["PromptTemplate"], name: str
    ) -> RefResult[PromptTemplateSpec]: ...
    @overload
    def resolve_named(
        self, kind: Literal["PromptExperiment"], name: str
    ) -> RefResult[PromptExperimentSpec]: ...
    def resolve_named(self, kind: str, name: str) -> RefResult:
        found = self.named.get(kind, {}).get(name)
        if found is not None:
            return RefResult("found", found)
        if name in self.broken_names.get(kind, set()):
            return RefResult("broken")
        return RefResult("missing", None, tuple(sorted(self.named.get(kind, {}))))


# Every environment made and not yet freed: they refer to each other (as peers), and the values the
# run's cache keeps (an endpoint's capacity) refer to them, so only the cyclic collector frees them.
_made: weakref.WeakSet[ResolvedEnvironment] = weakref.WeakSet()


def release_environments() -> None:
    """Break the cycles of every environment still alive, so that reference counts free them at
    once, for a process that goes on after a command (the warm server): a collection that walks
    them cost 0.15 s after a render of 3,000 endpoints x 3. None may be used afterwards."""
    for env in list(_made):
        env.release()
    _made.clear()
