"""Check the Kubernetes objects in YAML text and say, with a code and a file:line:column, what is
wrong.

The text is read by the compiler's strict YAML reader, so YAML traps (duplicate keys, yes/no
booleans, tags) keep their Y codes and every object keeps the positions of its keys and values.
Each object goes to the validator its apiVersion and kind select (catalog.py); each schema error
becomes one V-coded diagnostic at the key or value it is about.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from compiler.diagnostics import Diagnostic, DiagnosticSet, Rule, make_diagnostic
from compiler.load.document import SourceDocument
from compiler.load.yaml_strict import parse_documents
from compiler.positions import Path, format_path
from compiler.spelling import closest_name
from llmops.conformance import codes, go_regex
from llmops.conformance.builtin_rules import PATTERN_FORMS, limit_problems
from llmops.conformance.catalog import SchemaCatalog

_JSON_TYPES = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
    type(None): "null",
}
# Files read by client-side tools only, never sent to the API server: not checked, not counted.
CLIENT_SIDE_GROUPS = frozenset({"kustomize.config.k8s.io"})
_KEYWORD_RULES = {
    "type": codes.WRONG_TYPE,
    "required": codes.MISSING_FIELD,
    "x-kubernetes-list-map-keys": codes.DUPLICATE_ENTRY,
}


def check_text(file: str, text: str, catalog: SchemaCatalog) -> tuple[int, list[Diagnostic]]:
    """(objects checked, diagnostics) for every document of one file; YAML problems keep their Y
    codes."""
    documents, diagnostics = parse_documents(file, text)
    found = DiagnosticSet()
    found.extend(diagnostics)
    objects = 0
    for document in documents:
        for prefix, obj in _objects(document.data):
            if _client_side(obj):
                continue
            objects += 1
            found.extend(list(check_object(obj, prefix, document, catalog)))
    return objects, found.sorted()


def _objects(data: Any) -> Iterator[tuple[Path, Any]]:
    """The objects of one document: itself, or the items of a `v1 List` (as kubectl reads one)."""
    if (
        isinstance(data, dict)
        and data.get("apiVersion") == "v1"
        and data.get("kind") == "List"
        and isinstance(data.get("items"), list)
    ):
        for index, item in enumerate(data["items"]):
            yield ("items", index), item
    else:
        yield (), data


def _client_side(obj: Any) -> bool:
    api_version = obj.get("apiVersion") if isinstance(obj, dict) else None
    return isinstance(api_version, str) and api_version.split("/")[0] in CLIENT_SIDE_GROUPS


def _describe(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return f"{obj.get('kind')} {name if isinstance(name, str) and name else '(no name)'}"


def check_object(
    obj: Any, prefix: Path, document: SourceDocument, catalog: SchemaCatalog
) -> Iterator[Diagnostic]:
    """Every way one object differs from what the API server accepts."""
    if (
        not isinstance(obj, dict)
        or not isinstance(obj.get("apiVersion"), str)
        or not isinstance(obj.get("kind"), str)
    ):
        yield make_diagnostic(
            codes.NOT_AN_OBJECT,
            "this is not a Kubernetes object: apiVersion and kind must be strings",
            document.span_of(prefix),
            path=prefix,
            hint="start every document with `apiVersion:` and `kind:`",
        )
        return
    api_version, kind, label = obj["apiVersion"], obj["kind"], _describe(obj)
    verdict = catalog.verdict(api_version, kind)
    where = document.span_of((*prefix, "apiVersion"))
    if verdict.validator is None and verdict.served:
        same_kind = [served for served in verdict.served if served.endswith(f" {kind}")]
        yield make_diagnostic(
            codes.UNSERVED_VERSION,
            f"{label}: {api_version} {kind} is not served by the vendored CRDs",
            where,
            path=(*prefix, "apiVersion"),
            hint=f"served: {'; '.join(same_kind or verdict.served)}",
        )
        return
    if verdict.validator is None:
        yield make_diagnostic(
            codes.UNKNOWN_KIND,
            f"{label}: no schema for {api_version} {kind} ({verdict.source} "
            "built-in kinds and the vendored CRDs)",
            where,
            path=(*prefix, "apiVersion"),
            hint="check the spelling of apiVersion and kind; other CRDs are not checked",
        )
        return
    for error in verdict.validator.iter_errors(obj):
        yield from _diagnostics(error, prefix, document, label)
    for path, rule, message in limit_problems(obj, kind, verdict.builtin):
        yield make_diagnostic(
            rule,
            f"{label}: {message}",
            document.span_of((*prefix, *path)),
            path=(*prefix, *path),
        )


def _diagnostics(
    error: Any, prefix: Path, document: SourceDocument, label: str
) -> Iterator[Diagnostic]:
    path: Path = (*prefix, *error.absolute_path)
    keyword = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    if keyword in ("anyOf", "oneOf") and error.context:
        from jsonschema.exceptions import best_match

        yield from _diagnostics(best_match(error.context), prefix, document, label)
        return
    if (
        keyword == "additionalProperties"
        and schema.get("additionalProperties") is False
        and isinstance(error.instance, dict)
    ):
        yield from _unknown_fields(error.instance, schema, path, document, label)
        return
    at = format_path(path) or "the object"
    if keyword == "required":
        missing = next(
            (
                name
                for name in error.validator_value
                if f"{name!r} is a required property" == error.message
            ),
            None,
        )
        message = (
            f'{label}: {at} is missing the required field "{missing}"'
            if missing
            else f"{label}: {at}: {error.message}"
        )
        yield make_diagnostic(codes.MISSING_FIELD, message, document.span_of(path), path=path)
        return
    rule: Rule = _KEYWORD_RULES.get(keyword, codes.INVALID_VALUE)
    hint = None
    if keyword == "type":
        expected = (
            error.validator_value
            if isinstance(error.validator_value, list)
            else [error.validator_value]
        )
        got = _JSON_TYPES.get(type(error.instance), type(error.instance).__name__)
        shown = "" if error.instance is None else f" {_short(error.instance)}"
        message = f"{label}: {at} must be {' or '.join(map(str, expected))}, not {got}{shown}"
        if error.instance is None:
            hint = "leave the field out instead of writing null (the API server would drop it)"
        elif isinstance(error.instance, float) and "string" in expected:
            hint = f'write the quantity as a string, e.g. "{error.instance}"'
    elif keyword == "pattern" and error.validator_value in PATTERN_FORMS:
        form, hint = PATTERN_FORMS[error.validator_value]
        message = f"{label}: {at}: {_short(error.instance)} is not {form}"
    else:
        message = f"{label}: {at}: {_short_message(error.message)}"
        if path[-2:] == ("metadata", "name") and keyword == "pattern":
            hint = "names are DNS-1123 subdomains: lower-case letters, digits, '-' and '.'"
    if "propertyNames" in error.relative_schema_path and isinstance(error.instance, str):
        # a key is wrong (a label's, a ConfigMap's): point at the key itself
        key_path: Path = (*path, error.instance)
        where = document.span_of(key_path, key=True)
        yield make_diagnostic(rule, message, where, path=key_path, hint=hint)
        return
    yield make_diagnostic(rule, message, document.span_of(path), path=path, hint=hint)


def _unknown_fields(
    instance: dict[str, Any],
    schema: dict[str, Any],
    path: Path,
    document: SourceDocument,
    label: str,
) -> Iterator[Diagnostic]:
    known = list(schema.get("properties") or {})
    patterns = list(schema.get("patternProperties") or {})
    for name in instance:
        if name in known or any(go_regex.search(pattern, name) for pattern in patterns):
            continue
        field_path: Path = (*path, name)
        suggestion = closest_name(name, known)
        where = f" in {format_path(path)}" if path else ""
        hint = (
            f"did you mean `{suggestion}`?"
            if suggestion
            else (f"known fields here: {', '.join(sorted(known))}" if known else None)
        )
        yield make_diagnostic(
            codes.UNKNOWN_FIELD,
            f'{label}: unknown field "{name}"{where}',
            document.span_of(field_path, key=True),
            path=field_path,
            hint=hint,
        )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _short_message(message: str) -> str:
    return message if len(message) <= 300 else message[:297] + "..."
