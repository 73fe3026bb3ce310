"""A CRD version's `openAPIV3Schema` as a JSON Schema (2020-12) that judges objects as the API
server does.

The CRD dialect is OpenAPI 3.0 plus Kubernetes extensions; each one is translated into what the API
server does with it when an object is created with `fieldValidation=Strict` (kubectl's default):

- an object schema without `x-kubernetes-preserve-unknown-fields` closes: unknown fields are errors
  (the server would prune them, and strict validation refuses them instead);
- `x-kubernetes-int-or-string` accepts an integer or a string (a float such as 0.5 is refused);
- `nullable: true` also accepts null; any other null is an error (llmops never means to write one);
- `x-kubernetes-embedded-resource` is an object that may carry apiVersion, kind and metadata;
- `x-kubernetes-list-type: set` items are unique; `map` items are unique by their key fields
  (`x-kubernetes-list-map-keys`, checked by the validator in catalog.py);
- a required field with a `default` is not required of the author (the server fills it in first);
- OpenAPI 3.0's boolean `exclusiveMinimum`/`exclusiveMaximum` become 2020-12's numbers;
- the root gets `apiVersion` and `kind` constants and the fields of ObjectMeta for `metadata`.

Not evaluated: CEL rules (`x-kubernetes-validations`), admission webhooks and `format` (int32
ranges). Descriptions are dropped: they are large and no check reads them. Defaults are kept (keyed
lists use them).
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

# Keywords whose value is one subschema, a list of them, or a name -> subschema map.
_ONE = ("items", "not")
_MANY = ("allOf", "anyOf", "oneOf")
_NAMED = ("properties", "patternProperties")
# OpenAPI keywords with the same meaning in JSON Schema 2020-12; everything else is dropped or
# translated.
_KEPT = frozenset(
    {
        "type",
        "required",
        "enum",
        "pattern",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
        "multipleOf",
        "uniqueItems",
        "default",
        "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys",
    }
)

# Kubernetes name formats (k8s.io/apimachinery/pkg/util/validation). Each ends with END, not `$`:
# jsonschema matches patterns with Python's re, where `$` also matches before a final newline, so
# `name: "a\n"` would pass.
END = r"(?![\s\S])"
_LABEL_BODY = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN_BODY = rf"{_LABEL_BODY}(\.{_LABEL_BODY})*"
DNS1123_LABEL = rf"^{_LABEL_BODY}{END}"
DNS1123_SUBDOMAIN = rf"^{_SUBDOMAIN_BODY}{END}"
_NAME_PART = r"([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]"
QUALIFIED_NAME = rf"^({_SUBDOMAIN_BODY}/)?{_NAME_PART}{END}"
LABEL_VALUE = rf"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?{END}"


def _closed_object(properties: Schema, required: list[str] | None = None) -> Schema:
    schema: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


def object_meta() -> Schema:
    """The ObjectMeta fields a manifest may carry; any other field under metadata is unknown."""
    string: Schema = {"type": "string"}
    owner = _closed_object(
        {
            "apiVersion": string,
            "kind": string,
            "name": string,
            "uid": string,
            "controller": {"type": "boolean"},
            "blockOwnerDeletion": {"type": "boolean"},
        },
        ["apiVersion", "kind", "name", "uid"],
    )
    return {
        **_closed_object(
            {
                "name": {"type": "string", "maxLength": 253, "pattern": DNS1123_SUBDOMAIN},
                "generateName": string,
                "namespace": {"type": "string", "maxLength": 63, "pattern": DNS1123_LABEL},
                "labels": {
                    "type": "object",
                    "propertyNames": {"maxLength": 317, "pattern": QUALIFIED_NAME},
                    "additionalProperties": {
                        "type": "string",
                        "maxLength": 63,
                        "pattern": LABEL_VALUE,
                    },
                },
                "annotations": {
                    "type": "object",
                    "propertyNames": {"maxLength": 317, "pattern": QUALIFIED_NAME},
                    "additionalProperties": string,
                },
                "finalizers": {"type": "array", "items": string},
                "ownerReferences": {"type": "array", "items": owner},
                "uid": string,
                "resourceVersion": string,
                "selfLink": string,
                "generation": {"type": "integer"},
                "creationTimestamp": {"type": ["string", "null"]},
                "deletionTimestamp": string,
                "deletionGracePeriodSeconds": {"type": "integer"},
                "managedFields": {"type": "array"},
            }
        ),
        "anyOf": [{"required": ["name"]}, {"required": ["generateName"]}],
    }


def _bound(schema: Schema, source: Schema, bound: str, exclusive: str) -> None:
    """OpenAPI 3.0: `exclusiveMinimum: true` modifies `minimum`; 2020-12 gives the bound itself."""
    if bound not in source:
        return
    if source.get(exclusive) is True:
        schema[exclusive] = source[bound]
    else:
        schema[bound] = source[bound]


def convert(source: Any) -> Schema:
    """One node of a CRD schema, recursively."""
    if not isinstance(source, dict):
        return {}
    schema: Schema = {key: value for key, value in source.items() if key in _KEPT}
    _bound(schema, source, "minimum", "exclusiveMinimum")
    _bound(schema, source, "maximum", "exclusiveMaximum")
    for key in _ONE:
        if isinstance(source.get(key), dict):
            schema[key] = convert(source[key])
    for key in _MANY:
        if isinstance(source.get(key), list):
            schema[key] = [convert(item) for item in source[key]]
    for key in _NAMED:
        if isinstance(source.get(key), dict):
            schema[key] = {name: convert(sub) for name, sub in source[key].items()}
    additional = source.get("additionalProperties")
    if isinstance(additional, dict):
        schema["additionalProperties"] = convert(additional)
    elif isinstance(additional, bool):
        schema["additionalProperties"] = additional

    if source.get("x-kubernetes-int-or-string") is True:
        schema["type"] = ["integer", "string"]
        schema.pop("anyOf", None)  # the generated anyOf [integer, string] says the same
    if source.get("x-kubernetes-embedded-resource") is True:
        properties = schema.setdefault("properties", {})
        properties.setdefault("apiVersion", {"type": "string"})
        properties.setdefault("kind", {"type": "string"})
        properties.setdefault("metadata", {"type": "object"})
    preserve = source.get("x-kubernetes-preserve-unknown-fields") is True
    is_object = schema.get("type") == "object" or ("type" not in schema and "properties" in schema)
    if is_object and not preserve and "additionalProperties" not in schema:
        schema["additionalProperties"] = False
    if source.get("x-kubernetes-list-type") == "set":
        schema["uniqueItems"] = True
    if isinstance(schema.get("required"), list):
        properties = source.get("properties") or {}
        required = [
            name
            for name in schema["required"]
            if not (isinstance(properties.get(name), dict) and "default" in properties[name])
        ]
        if required:
            schema["required"] = required
        else:
            del schema["required"]
    if source.get("nullable") is True:
        _allow_null(schema)
    return schema


def _allow_null(schema: Schema) -> None:
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        schema["type"] = [*kind, "null"]
    if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]


def resource_schema(open_api: Any, api_version: str, kind: str) -> Schema:
    """The whole object of one served version: the converted schema with its root made exact."""
    schema = convert(open_api if isinstance(open_api, dict) else {"type": "object"})
    properties = schema.setdefault("properties", {})
    properties["apiVersion"] = {"const": api_version}
    properties["kind"] = {"const": kind}
    narrowed = properties.get("metadata")
    meta = object_meta()
    if isinstance(narrowed, dict) and isinstance(narrowed.get("properties"), dict):
        # A CRD may narrow metadata.name (e.g. a maximum length); the narrowing applies on top of
        # ObjectMeta.
        for name, sub in narrowed["properties"].items():
            meta["properties"][name] = {"allOf": [meta["properties"].get(name, {}), sub]}
    properties["metadata"] = meta
    schema["type"] = "object"
    schema["required"] = [
        "apiVersion",
        "kind",
        "metadata",
        *(
            name
            for name in schema.get("required", [])
            if name not in ("apiVersion", "kind", "metadata")
        ),
    ]
    schema["additionalProperties"] = False
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
