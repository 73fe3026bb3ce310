"""Reference syntax: `name@version`, or the original platform's `name-version` (e.g.
`example-base-model-1.0`)."""

from __future__ import annotations

from compiler.records import record


@record(eq=False, repr=False, slots=True)
class VersionedName:
    """A `name@version` reference, split."""

    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name}@{self.version}"


def split_at_form(reference: str) -> VersionedName | None:
    """Parse `name@version`; None if the reference is not in that form."""
    name, sep, version = reference.partition("@")
    if not sep or not name or not version or "@" in version:
        return None
    return VersionedName(name, version)


def dashed_form(identity: VersionedName) -> str:
    """The original platform's spelling of an identity: `name-version`."""
    return f"{identity.name}-{identity.version}"
