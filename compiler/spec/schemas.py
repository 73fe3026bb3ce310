"""JSON Schemas generated from the spec models: one per kind, and one for any manifest."""

from __future__ import annotations

import functools
import json
import operator
from typing import Any

from pydantic import TypeAdapter

from compiler.spec.kinds import KINDS

SCHEMA_BASE_URI = "https://llmops.io/schemas/v1"
ANY_MANIFEST_FILE = "manifest.schema.json"


def schema_file_name(kind: str) -> str:
    return f"{kind.lower()}.schema.json"


def _kind_schema(kind: str) -> dict[str, Any]:
    info = KINDS[kind]
    schema = info.model.model_json_schema(by_alias=True, mode="validation")
    schema["title"] = kind
    schema["description"] = info.summary
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": f"{SCHEMA_BASE_URI}/{schema_file_name(kind)}",
        **schema,
    }


def _any_manifest_schema() -> dict[str, Any]:
    from typing import Annotated

    from pydantic import Field

    union: Any = functools.reduce(operator.or_, (info.model for info in KINDS.values()))
    adapter: TypeAdapter[Any] = TypeAdapter(Annotated[union, Field(discriminator="kind")])
    schema = adapter.json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": f"{SCHEMA_BASE_URI}/{ANY_MANIFEST_FILE}",
        "title": "llmops manifest",
        "description": "Any llmops.io/v1 manifest; `kind` selects the schema.",
        **schema,
    }


# pydantic writes the bounds of a union (`int | float`) as its own keywords, which JSON Schema
# ignores.
_BOUND_KEYWORDS = {
    "ge": "minimum",
    "gt": "exclusiveMinimum",
    "le": "maximum",
    "lt": "exclusiveMaximum",
}


def _json_schema_bounds(node: Any) -> Any:
    """Rename pydantic's `ge`/`gt`/`le`/`lt` to JSON Schema's keywords, everywhere in a schema."""
    if isinstance(node, list):
        return [_json_schema_bounds(item) for item in node]
    if not isinstance(node, dict):
        return node
    numeric = "anyOf" in node and all(
        branch.get("type") in ("integer", "number") for branch in node["anyOf"]
    )
    return {
        (_BOUND_KEYWORDS[key] if numeric and key in _BOUND_KEYWORDS else key): _json_schema_bounds(
            value
        )
        for key, value in node.items()
    }


def generate_schemas() -> dict[str, str]:
    """File name -> JSON text, deterministic (the same models always give the same bytes)."""
    files = {schema_file_name(kind): _json_schema_bounds(_kind_schema(kind)) for kind in KINDS}
    files[ANY_MANIFEST_FILE] = _json_schema_bounds(_any_manifest_schema())
    return {
        name: json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
        for name, schema in sorted(files.items())
    }
