"""Missing required fields: one diagnostic per mapping, and for manifests a command writes, that
command.

The original platform's approval body is `{"status": "approved"}`; pasted as an Approval's spec it
lacks four fields at one place. Four errors at one caret say less than one that lists them, and none
of them could say the useful thing: an Approval is written by `llmops approve`, which computes the
digest it must carry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from compiler.check import schema_rules as rules
from compiler.diagnostics import Diagnostic
from compiler.load.document import SourceDocument
from compiler.positions import format_path

_ENVIRONMENTS = "environments/"


def _environment_of(file: str) -> str:
    """The environment folder a file is in (`<env>` when it is not in one, e.g. `_shared`)."""
    parts = file.removeprefix(_ENVIRONMENTS).split("/")
    return (
        parts[0]
        if file.startswith(_ENVIRONMENTS) and len(parts) > 1 and not parts[0].startswith("_")
        else "<env>"
    )


def _written(document: SourceDocument, field: str, placeholder: str) -> str:
    value = document.get(("spec", field))
    return value if isinstance(value, str) and value and " " not in value else placeholder


def _approval_hint(document: SourceDocument) -> str:
    command = (
        f"llmops approve {_written(document, 'modelId', 'MODEL@VERSION')} "
        f"--env {_environment_of(document.file)} --by {_written(document, 'approvedBy', '<user>')} "
        f"--role {_written(document, 'role', '<role>')}"
    )
    return (
        f"an Approval is written by `{command}`, which fills in `modelDigest` (sha256 of the "
        "model's kind, name and spec without `status`, as canonical JSON); commit the file it "
        "writes instead of this one"
    )


# kind -> the hint naming the command that writes such a manifest
WRITTEN_BY: dict[str, Callable[[SourceDocument], str]] = {"Approval": _approval_hint}


def _listed(names: list[str]) -> str:
    quoted = [f"`{name}`" for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def merge_missing_fields(
    document: SourceDocument, diagnostics: list[Diagnostic]
) -> list[Diagnostic]:
    """One S002 per mapping listing every field it lacks (in the model's order), with the writing
    command as the hint when the kind has one."""
    missing = [d for d in diagnostics if d.code == rules.MISSING_FIELD.code]
    if not missing:
        return diagnostics
    kind = document.data.get("kind") if isinstance(document.data, dict) else None
    writer = WRITTEN_BY.get(kind) if isinstance(kind, str) else None
    by_parent: dict[tuple[object, ...], list[Diagnostic]] = {}
    for diagnostic in missing:
        by_parent.setdefault(diagnostic.path[:-1], []).append(diagnostic)
    merged: list[Diagnostic] = []
    for diagnostic in diagnostics:
        if diagnostic.code != rules.MISSING_FIELD.code:
            merged.append(diagnostic)
            continue
        group = by_parent.pop(diagnostic.path[:-1], None)
        if group is None:
            continue  # already merged into the first of its mapping
        hint = writer(document) if writer is not None else diagnostic.hint
        if len(group) == 1:
            merged.append(replace(diagnostic, hint=hint))
            continue
        names = [str(d.path[-1]) for d in group]
        where = format_path(diagnostic.path[:-1]) or "the manifest"
        merged.append(
            replace(
                diagnostic,
                message=f"missing required fields {_listed(names)} in {where}",
                path=diagnostic.path[:-1],
                hint=hint,
            )
        )
    return merged
