"""A Markdown reference of every manifest field, generated from the spec models (never
hand-edited)."""

from __future__ import annotations

import json
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from compiler.spec.formats import FormatName
from compiler.spec.kinds import KINDS
from compiler.spec.ranges import field_range

REFERENCE_FILE = "manifest-reference.md"


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        names = [item.name for item in annotation.__metadata__ if isinstance(item, FormatName)]
        return _type_name(args[0]) + (f" ({names[0]})" if names else "")
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " or ".join(_type_name(a) for a in args if a is not type(None))
    if origin in (list, tuple):
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map of {_type_name(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    return {str: "string", int: "integer", float: "number", bool: "boolean"}.get(
        annotation, str(annotation)
    )


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    factory = field.default_factory
    value = factory() if factory is not None else field.default  # type: ignore[call-arg]
    if isinstance(value, BaseModel):
        return "see below"
    if value is None or value is PydanticUndefined:
        return "—"
    if value in ({}, []):
        return "empty"
    return f"`{json.dumps(value) if not isinstance(value, str) else value}`"


def _nested(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows: list[str] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        description = (field.description or "").replace("|", "\\|").replace("\n", " ")
        allowed = field_range(field)
        formats = [item.name for item in field.metadata if isinstance(item, FormatName)]
        kind = (
            _type_name(field.annotation)
            + (f" ({formats[0]})" if formats else "")
            + (f", {allowed}" if allowed else "")
        )
        rows.append(f"| `{key}` | {kind} | {_default(field)} | {description} |")
        nested = _nested(field.annotation)
        if nested is not None:
            rows.extend(_rows(nested, f"{key}."))
    return rows


def generate_reference() -> str:
    out = [
        "# Manifest reference",
        "",
        "Generated from the spec models by `llmops schema`; do not edit by hand. Every manifest is",
        "`apiVersion: llmops.io/v1`, `kind`, `metadata` (`name`, optional `labels`, "
        "`annotations`) and `spec`.",
        "Field names keep the original platform's spelling (`ownerTeam` next to `owner_team`), so "
        "the platform's REST",
        "request bodies can be pasted into `spec` unchanged.",
        "",
    ]
    for kind, info in KINDS.items():
        spec_model = info.model.model_fields["spec"].annotation
        assert isinstance(spec_model, type) and issubclass(spec_model, BaseModel)
        out += [
            f"## {kind}",
            "",
            info.summary,
            "",
            "| field | type | default | meaning |",
            "|---|---|---|---|",
            *_rows(spec_model, "spec."),
            "",
        ]
    return "\n".join(out)
