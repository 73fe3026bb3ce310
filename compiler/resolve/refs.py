"""Resolve `name@version` and `name-version` references against one environment's manifests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Generic, Literal

from typing_extensions import TypeVar

from compiler.records import record
from compiler.resolve.manifest import Manifest
from compiler.spec.base import StrictModel
from compiler.spec.reference_syntax import VersionedName, dashed_form, split_at_form

RefStatus = Literal["found", "missing", "broken", "ambiguous"]
_NO_NAMES: Mapping[str, tuple[str, ...]] = MappingProxyType({})
FoundSpec = TypeVar("FoundSpec", bound=StrictModel, covariant=True, default=StrictModel)
IndexedSpec = TypeVar("IndexedSpec", bound=StrictModel)


@record(eq=False, repr=False)
class RefResult(Generic[FoundSpec]):
    """What a reference resolved to: its status, the manifest when found, and the candidates."""

    status: RefStatus
    manifest: Manifest[FoundSpec] | None = None
    candidates: tuple[str, ...] = ()  # for "ambiguous", and close names for "missing"
    # for "missing": every identity of the index by its name (shared by all its results)
    by_name: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: _NO_NAMES)


@dataclass(eq=False, repr=False)
class VersionedIndex(Generic[IndexedSpec]):
    """Manifests of one versioned kind, findable by both spellings of their identity."""

    by_identity: dict[tuple[str, str], Manifest[IndexedSpec]] = field(default_factory=dict)
    by_dashed: dict[str, list[Manifest[IndexedSpec]]] = field(default_factory=dict)
    # both spellings of identities that failed validation
    broken: set[str] = field(default_factory=set)
    # names of manifests that failed validation with no readable version: any version of them
    broken_any_version: set[str] = field(default_factory=set)
    # reference -> its result: every check and the renderer resolve the same references again
    _resolved: dict[str, RefResult[IndexedSpec]] = field(
        default_factory=dict, repr=False, compare=False
    )
    # every identity (sorted) and by name, made once for all the references it names nothing for
    # (made per reference, 5,000 missing ones against 5,000 models held 2 GB)
    _catalog: tuple[tuple[str, ...], Mapping[str, tuple[str, ...]]] | None = field(
        default=None, repr=False, compare=False
    )

    def add(self, manifest: Manifest[IndexedSpec]) -> None:
        assert manifest.version is not None
        self.by_identity[(manifest.name, manifest.version)] = manifest
        key = dashed_form(VersionedName(manifest.name, manifest.version))
        self.by_dashed.setdefault(key, []).append(manifest)
        self._resolved.clear()
        self._catalog = None

    def add_broken(self, name: str, version: str | None) -> None:
        """`version` None: the broken manifest's version could not be read, so a reference to any
        version of `name` may mean it."""
        self.broken.add(name)
        if version is not None:
            self.broken.add(f"{name}@{version}")
            self.broken.add(dashed_form(VersionedName(name, version)))
        else:
            self.broken_any_version.add(name)
        self._resolved.clear()
        self._catalog = None

    def resolve(self, reference: str) -> RefResult[IndexedSpec]:
        """What ``reference`` names (remembered: the index only changes through `add` and
        `add_broken`)."""
        result = self._resolved.get(reference)
        if result is None:
            result = self._resolved[reference] = self._resolve(reference)
        return result

    def _resolve(self, reference: str) -> RefResult[IndexedSpec]:
        at_form = split_at_form(reference)
        if at_form is not None:
            found = self.by_identity.get((at_form.name, at_form.version))
            if found is not None:
                return RefResult("found", found)
        else:
            matches = self.by_dashed.get(reference, [])
            if len(matches) == 1:
                return RefResult("found", matches[0])
            if len(matches) > 1:
                return RefResult("ambiguous", None, tuple(sorted(str(m.subject) for m in matches)))
        if reference in self.broken:
            return RefResult("broken")
        named = at_form.name if at_form is not None else None
        if any(
            named == name or (named is None and reference.startswith(f"{name}-"))
            for name in self.broken_any_version
        ):
            return RefResult("broken")
        if self._catalog is None:
            known = tuple(sorted(f"{name}@{version}" for name, version in self.by_identity))
            by_name: dict[str, list[str]] = {}
            for identity in known:
                by_name.setdefault(identity.partition("@")[0], []).append(identity)
            self._catalog = known, {name: tuple(found) for name, found in by_name.items()}
        known, by_name_found = self._catalog
        return RefResult("missing", None, known, by_name_found)
