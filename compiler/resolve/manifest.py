"""A validated manifest together with where it came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compiler.load.document import SourceDocument
from compiler.spec.base import Envelope

Identity = tuple[str, str, str | None]  # kind, name, version (None for unversioned kinds)


@dataclass(frozen=True, eq=False)
class Manifest:
    kind: str
    name: str
    version: str | None
    model: Envelope
    document: SourceDocument
    origin: str  # the environment folder it was read from, or "_shared"

    @property
    def spec(self) -> Any:
        return self.model.spec  # type: ignore[attr-defined]

    @property
    def identity(self) -> Identity:
        return (self.kind, self.name, self.version)

    @property
    def file(self) -> str:
        return self.document.file

    @property
    def subject(self) -> str:
        return f"{self.kind}/{self.name}" + (f"@{self.version}" if self.version else "")


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
