"""Build every environment from the validated manifests.

Merge rule for `environments/_shared/`: a shared manifest belongs to every environment unless
that environment has a manifest of the same identity (kind + name, + version for Model and
Dataset), which then replaces it whole. There is no field-level merging: what an environment
deploys is always one complete manifest you can read in one file.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, cast

from compiler.load.estate import SHARED_ENV
from compiler.load.tree import RepoTree
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.gaps import Gap
from compiler.resolve.manifest import Identity, Manifest, has_spec
from compiler.resolve.peers import PeerMap
from compiler.spec.dataset import DatasetSpec
from compiler.spec.environment import EnvironmentSpec
from compiler.spec.model import ModelSpec

ENV_ONLY_KINDS = frozenset({"Environment", "Approval"})


@dataclass(eq=False, repr=False)
class ResolvedEstate:
    """Every environment of the estate, resolved."""

    environments: list[ResolvedEnvironment]


def _dedupe(
    manifests: list[Manifest],
) -> tuple[dict[Identity, Manifest], list[tuple[Manifest, Manifest]]]:
    first: dict[Identity, Manifest] = {}
    duplicates: list[tuple[Manifest, Manifest]] = []
    for manifest in manifests:
        identity = manifest.identity
        if manifest.kind == "Environment":
            identity = ("Environment", "", None)  # one per environment, whatever its name
        if identity in first:
            duplicates.append((first[identity], manifest))
        else:
            first[identity] = manifest
    return first, duplicates


def _file_order(manifest: Manifest) -> tuple[str, int]:
    document = manifest.document
    return document.file, document.index


def resolve_environment(
    name: str,
    tree: RepoTree,
    shared: list[Manifest],
    own: list[Manifest],
    broken: list[Identity],
    cache: dict[Any, Any],
    gaps: list[Gap] | None = None,
) -> ResolvedEnvironment:
    """Merge ``_shared`` into one environment and index what references need.

    ``gaps`` are the environment's and `_shared`'s manifests that could not be read. A shared
    manifest of a kind the environment's own gaps may hold is left out: the environment may override
    it.
    """
    own_gaps = [gap for gap in gaps or () if gap.origin == name]
    shared_gaps = [
        replace(gap, kinds=gap.kinds - ENV_ONLY_KINDS)
        for gap in gaps or ()
        if gap.origin == SHARED_ENV and gap.kinds - ENV_ONLY_KINDS
    ]
    maybe_overridden = frozenset().union(*(gap.kinds for gap in own_gaps))
    misplaced = [manifest for manifest in shared if manifest.kind in ENV_ONLY_KINDS]
    shared_ok = [
        manifest
        for manifest in shared
        if manifest.kind not in ENV_ONLY_KINDS and manifest.kind not in maybe_overridden
    ]
    shared_by_id, shared_duplicates = _dedupe(shared_ok)
    own_by_id, own_duplicates = _dedupe(own)
    effective = [m for identity, m in shared_by_id.items() if identity not in own_by_id] + list(
        own_by_id.values()
    )
    effective.sort(key=_file_order)
    own_settings = own_by_id.get(("Environment", "", None))
    settings_manifest = (
        own_settings
        if own_settings is not None and has_spec(own_settings, EnvironmentSpec)
        else None
    )
    settings = settings_manifest.spec if settings_manifest is not None else EnvironmentSpec()
    env = ResolvedEnvironment(
        name=name,
        tree=tree,
        settings=settings,
        settings_manifest=settings_manifest,
        manifests=effective,
        duplicates=shared_duplicates + own_duplicates,
        misplaced=misplaced,
        cache=cache,
        gaps=own_gaps + shared_gaps,
    )
    if settings_manifest is None:
        env.settings_gap = next((gap for gap in own_gaps if "Environment" in gap.kinds), None)
    for manifest in effective:
        kind = manifest.kind  # a kind has one spec model (compiler/spec/kinds.py)
        if kind == "Model":
            env.models.add(cast("Manifest[ModelSpec]", manifest))
        elif kind == "Dataset":
            env.datasets.add(cast("Manifest[DatasetSpec]", manifest))
        else:
            env.named.setdefault(kind, {})[manifest.name] = manifest
    for kind, broken_name, version in broken:
        if kind == "Model":
            env.models.add_broken(broken_name, version)
        elif kind == "Dataset":
            env.datasets.add_broken(broken_name, version)
        else:
            env.broken_names.setdefault(kind, set()).add(broken_name)
    return env


def resolve_estate(
    tree: RepoTree,
    environments: list[str],
    manifests: list[Manifest],
    broken: dict[str, list[Identity]],
    gaps: list[Gap] | None = None,
    *,
    cache: dict[Any, Any] | None = None,
) -> ResolvedEstate:
    """Every environment of ``environments``, each with ``_shared`` merged in and the others as its
    peers. ``cache`` is what the run computed so far (see `ResolvedEnvironment.remember`): a peer
    resolved apart from the environment that reads it takes the same one, so what both compute of a
    `_shared` manifest (a model's digest) is computed once."""
    shared = [manifest for manifest in manifests if manifest.origin == SHARED_ENV]
    resolved = []
    if cache is None:
        cache = {}
    for name in environments:
        own = [manifest for manifest in manifests if manifest.origin == name]
        resolved.append(
            resolve_environment(
                name,
                tree,
                shared,
                own,
                broken.get(SHARED_ENV, []) + broken.get(name, []),
                cache,
                gaps,
            )
        )
    for env in resolved:
        env.peers = PeerMap({other.name: other for other in resolved if other is not env})
    return ResolvedEstate(environments=resolved)
