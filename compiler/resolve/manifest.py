"""A validated manifest together with where it came from, typed by its kind's spec model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from typing import Any, Generic, Self

from typing_extensions import TypeIs, TypeVar

from compiler.load.document import SourceDocument
from compiler.records import record
from compiler.spec.base import Envelope, StrictModel

Identity = tuple[str, str, str | None]  # kind, name, version (None for unversioned kinds)

# The spec model of a manifest's kind: `Manifest[ServingEndpointSpec]` has a typed `.spec`. A bare
# `Manifest` is one of any kind: its spec is only a `StrictModel` until narrowed (`of_kind`).
SpecT = TypeVar("SpecT", bound=StrictModel, covariant=True, default=StrictModel)
KindSpec = TypeVar("KindSpec", bound=StrictModel)
T = TypeVar("T")


@record(eq=False, repr=False)
class Manifest(Generic[SpecT]):
    """One validated document: its kind and identity, its model and spec, and where it was read."""

    kind: str
    name: str
    version: str | None
    model: Envelope
    spec: SpecT
    document: SourceDocument
    origin: str  # the environment folder it was read from, or "_shared"
    # what `derived` computed, by the function that computed it (not an argument: a manifest made
    # by `dataclasses.replace`, another spec, starts with nothing derived)
    _derived: dict[Callable[[Any], Any], Any] = field(default_factory=dict, init=False, repr=False)

    def derived(self, compute: Callable[[Self], T]) -> T:
        """``compute(self)``, computed once per manifest. ``compute`` must read nothing but the
        manifest it is given (and constants): a manifest lives for one run, or, in the warm server,
        for as long as its file is unchanged (`compiler.pipeline.validate_manifests`), and what it
        derived lives as long. Pass a function defined once, not a closure: the function is the
        key."""
        derived = self._derived
        if compute in derived:
            value: T = derived[compute]
            return value
        value = derived[compute] = compute(self)
        return value

    def release(self) -> None:
        """Forget what was derived (`SourceFile.release`)."""
        self._derived.clear()

    @property
    def identity(self) -> Identity:
        return (self.kind, self.name, self.version)

    @property
    def file(self) -> str:
        return self.document.file

    @property
    def subject(self) -> str:
        return f"{self.kind}/{self.name}" + (f"@{self.version}" if self.version else "")


def spec_of(model: Envelope) -> StrictModel:
    """The `spec` of a validated manifest. Each kind's envelope declares its own spec model
    (compiler/spec/kinds.py), so the shared base class has no `spec` field to read it through."""
    spec = getattr(model, "spec", None)
    if not isinstance(spec, StrictModel):
        raise TypeError(f"{type(model).__name__} has no spec model")
    return spec


def has_spec(manifest: Manifest, spec_model: type[KindSpec]) -> TypeIs[Manifest[KindSpec]]:
    """Whether a manifest of some kind is of the kind whose spec model is ``spec_model`` (each kind
    has its own), narrowing its type to that kind."""
    return isinstance(manifest.spec, spec_model)


def raw_identity(document: SourceDocument) -> Identity | None:
    """The identity a document claims, read before validation (so a broken manifest is still
    known)."""
    kind, name, version = (
        document.get(("kind",)),
        document.get(("metadata", "name")),
        document.get(("spec", "version")),
    )
    if not isinstance(kind, str) or not isinstance(name, str):
        return None
    # a version that is not a scalar (`[1]`) names no version: None stands for "any version"
    readable = isinstance(version, str | int | float) and not isinstance(version, bool)
    return (kind, name, str(version) if readable else None)
