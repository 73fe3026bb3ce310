"""Validate raw documents against the spec models; turn every pydantic error into a positioned diagnostic."""

from __future__ import annotations

import difflib
import json
import typing
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ValidationError

from compiler.check import schema_rules as rules
from compiler.check.missing_fields import merge_missing_fields
from compiler.diagnostics import Diagnostic, make_diagnostic
from compiler.load.document import SourceDocument
from compiler.positions import Path, format_path
from compiler.spec.base import API_VERSION, Envelope
from compiler.spec.kinds import KINDS

_TYPE_NAMES = {
    "string_type": "a string", "int_type": "an integer", "float_type": "a number", "bool_type": "a boolean",
    "dict_type": "a mapping", "list_type": "a list", "model_type": "a mapping", "int_from_float": "an integer",
    "model_attributes_type": "a mapping",
}
_ENUM_TYPES = {"literal_error", "enum"}


def describe_value(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {json.dumps(value)}"
    if value is None:
        return "null"
    return f"a {'mapping' if isinstance(value, dict) else 'list'}"


def _data_path(document: SourceDocument, loc: tuple[Any, ...]) -> Path:
    """Keep the parts of a pydantic location that name real keys (drop union tags like `int`)."""
    path: list[str | int] = []
    node: Any = document.data
    for segment in loc:
        if isinstance(node, dict) and isinstance(segment, str) and segment in node:
            node = node[segment]
            path.append(segment)
        elif isinstance(node, list) and isinstance(segment, int) and 0 <= segment < len(node):
            node = node[segment]
            path.append(segment)
        elif isinstance(node, dict) and isinstance(segment, str) and loc[-1] == segment:
            path.append(segment)  # the missing or unknown key itself
            break
    return tuple(path)


def _model_at(model: type[BaseModel], path: Path) -> type[BaseModel] | None:
    """The pydantic model class that describes the mapping at ``path`` (for did-you-mean)."""
    current: type[BaseModel] = model
    for segment in path:
        if isinstance(segment, int):
            continue
        field = next((f for name, f in current.model_fields.items() if (f.alias or name) == segment), None)
        if field is None:
            return None
        candidates = [field.annotation, *typing.get_args(field.annotation)]
        nested = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if nested is None:
            return None
        current = nested
    return current


def field_names(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _closest(word: str, choices: list[str]) -> str | None:
    matches = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not matches:
        lowered = {choice.lower().replace("_", ""): choice for choice in choices}
        key = word.lower().replace("_", "").replace("-", "")
        return lowered.get(key)
    return matches[0]


def _error_diagnostic(document: SourceDocument, model: type[Envelope], error: Any) -> Diagnostic:
    kind = error["type"]
    path = _data_path(document, error["loc"])
    where = format_path(path)
    subject = f"{document.data.get('kind')}/{document.get(('metadata', 'name'))}"
    if kind == "extra_forbidden":
        owner = _model_at(model, path[:-1])
        known = field_names(owner) if owner else []
        key = str(path[-1])
        suggestion = _closest(key, known)
        hint = f"did you mean `{suggestion}`?" if suggestion else (
            f"known fields here: {', '.join(known)}" if known else None)
        where_key = format_path(path[:-1]) or "the manifest"
        return make_diagnostic(rules.UNKNOWN_FIELD, f"unknown field `{key}` in {where_key}",
                               document.span_of(path, key=True), path=path, hint=hint, subject=subject)
    if kind == "missing":
        parent = format_path(path[:-1]) or "the manifest"
        return make_diagnostic(rules.MISSING_FIELD, f"missing required field `{path[-1]}` in {parent}",
                               document.span_of(path[:-1], key=True), path=path, subject=subject)
    value = document.get(path)
    span = document.span_of(path)
    if kind in _ENUM_TYPES:
        expected = str(error.get("ctx", {}).get("expected", ""))
        choices = [part.strip(" '") for part in expected.replace(" or ", ", ").split(",") if part.strip()]
        suggestion = _closest(str(value), choices) if isinstance(value, str) else None
        return make_diagnostic(rules.BAD_ENUM_VALUE, f"{where} is {describe_value(value)}; allowed: {expected}",
                               span, path=path, hint=f"did you mean `{suggestion}`?" if suggestion else None,
                               subject=subject)
    if kind in _TYPE_NAMES:
        hint = None
        written = document.plain_scalars.get(path)
        if kind == "string_type" and written is not None:
            hint = f"quote it to keep it as written: \"{written}\""
        expected = _TYPE_NAMES[kind]
        return make_diagnostic(rules.WRONG_TYPE, f"{where} must be {expected}, not {describe_value(value)}"
                               + (f" (written `{written}`)" if written and written != str(value) else ""),
                               span, path=path, hint=hint, subject=subject)
    message = str(error.get("msg", "invalid value"))
    if kind == "string_pattern_mismatch":
        message = "not in the expected format"
    elif kind == "value_error" and "error" in error.get("ctx", {}):
        message = str(error["ctx"]["error"])  # a validator's own sentence, without pydantic's prefix
    hint = None
    field_model = _model_at(model, path[:-1])
    if field_model is not None and path:
        field = next((f for n, f in field_model.model_fields.items() if (f.alias or n) == path[-1]), None)
        if field is not None and field.description:
            hint = field.description
    return make_diagnostic(rules.INVALID_VALUE, f"{where}: {message[0].lower()}{message[1:]} (got "
                           f"{describe_value(value)})", span, path=path, hint=hint, subject=subject)


def _merge_misspelt_required(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """One mistake, one diagnostic: `storageURI` for `storageUri` is an unknown field whose suggestion is
    exactly the missing required field, so the missing-field error is dropped and the hint says so."""
    missing = {d.path: d for d in diagnostics if d.code == rules.MISSING_FIELD.code}
    merged: list[Diagnostic] = []
    absorbed: set[Path] = set()
    for diagnostic in diagnostics:
        if diagnostic.code == rules.UNKNOWN_FIELD.code and diagnostic.hint:
            suggestion = diagnostic.hint.removeprefix("did you mean `").removesuffix("`?")
            twin = (*diagnostic.path[:-1], suggestion)
            if twin in missing:
                absorbed.add(twin)
                diagnostic = replace(diagnostic, hint=f"did you mean `{suggestion}`? (it is required and missing)")
        merged.append(diagnostic)
    return [d for d in merged if not (d.code == rules.MISSING_FIELD.code and d.path in absorbed)]


def validate_document(document: SourceDocument) -> tuple[Envelope | None, list[Diagnostic]]:
    """Validate one document against its kind. Returns the typed manifest, or None with diagnostics."""
    data = document.data
    api_version = data.get("apiVersion")
    kind = data.get("kind")
    if api_version != API_VERSION:
        message = ("missing `apiVersion`" if api_version is None
                   else f"apiVersion is {describe_value(api_version)}, expected \"{API_VERSION}\"")
        return None, [make_diagnostic(rules.WRONG_API_VERSION, message, document.span_of(("apiVersion",)),
                                      path=("apiVersion",), hint=f"apiVersion: {API_VERSION}")]
    if not isinstance(kind, str) or kind not in KINDS:
        suggestion = _closest(kind, list(KINDS)) if isinstance(kind, str) else None
        message = "missing `kind`" if kind is None else f"kind is {describe_value(kind)}, not an llmops kind"
        hint = f"did you mean `{suggestion}`?" if suggestion else f"kinds: {', '.join(KINDS)}"
        return None, [make_diagnostic(rules.UNKNOWN_KIND, message, document.span_of(("kind",)), path=("kind",),
                                      hint=hint)]
    model = KINDS[kind].model
    try:
        manifest = model.model_validate(data)
    except ValidationError as error:
        return None, merge_missing_fields(document, _merge_misspelt_required(
            [_error_diagnostic(document, model, item) for item in error.errors()]))
    spec_name = getattr(getattr(manifest, "spec", None), "name", None)
    if spec_name is not None and spec_name != manifest.metadata.name:
        return manifest, [make_diagnostic(
            rules.SPEC_NAME_MISMATCH, f"spec.name \"{spec_name}\" differs from metadata.name "
            f"\"{manifest.metadata.name}\"", document.span_of(("spec", "name")), path=("spec", "name"),
            hint=f"set spec.name to \"{manifest.metadata.name}\" or remove it")]
    return manifest, []
