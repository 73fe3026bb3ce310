"""Who last changed a manifest, as git recorded it: the facts the approval audit judges.

The edge (`llmops.gitops.audit`) reads them from history; the rules here only compare them, so the
audit's logic stays pure and testable like every other rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from compiler.records import record
from compiler.spec.formats import same_person_key

if TYPE_CHECKING:
    from compiler.resolve.manifest import Manifest

# origin (environment folder or _shared), kind, name, version
DocumentKey = tuple[str, str, str, str | None]


@record(eq=False, repr=False)
class Authorship:
    """Who committed a document, in which revision, and whether the commit is signed."""

    revision: str
    author_name: str
    author_email: str
    signed: bool
    subject: str

    @property
    def author(self) -> str:
        return f"{self.author_name} <{self.author_email}>"


@dataclass(eq=False, repr=False)
class Provenance:
    """Per document: the commit that added or last changed it; None when the checkout differs from
    HEAD (an uncommitted change has no author yet)."""

    last_change: dict[DocumentKey, Authorship | None] = field(default_factory=dict)
    # documents whose commits are in no history the audit reads (a git submodule's files: they are
    # committed in another repository), and why
    outside_history: dict[DocumentKey, str] = field(default_factory=dict)


def document_key(manifest: Manifest) -> DocumentKey:
    return (manifest.origin, manifest.kind, manifest.name, manifest.version)


def is_person(authorship: Authorship, user: str, identities: dict[str, list[str]]) -> bool:
    """Whether the commit's author is `user`: by the environment's e-mail list for that user when it
    has one, else by the e-mail's local part or the author's name (case-insensitive)."""
    email = authorship.author_email.strip().lower()
    known = identities.get(user)
    if known is None:  # the same person written in another case or Unicode form
        key = same_person_key(user)
        known = next((e for who, e in identities.items() if same_person_key(who) == key), None)
    if known is not None:
        return email in {address.strip().lower() for address in known}
    wanted = user.strip().lower()
    return email.split("@", 1)[0] == wanted or authorship.author_name.strip().lower() == wanted
