"""What the API server checks in built-in objects beyond their OpenAPI schema.

kubernetes-validate's schemas type ObjectMeta's fields only (any string is a name, any map labels),
and JSON Schema cannot sum sizes. The API server's validation (k8s.io/apimachinery's name and label
rules, core/v1's size limits) refuses: names and namespaces that are not DNS names, label keys and
values of the wrong form, annotations over 256 KiB, ConfigMaps and Secrets over 1 MiB and
ConfigMap keys of the wrong form. The name rules become a schema that is checked with the kind's
own (labels and annotations through the shared definitions, wherever ObjectMeta appears); the sums
are computed here.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Any

from compiler.diagnostics import Rule
from compiler.positions import Path
from llmops.conformance import codes
from llmops.conformance.crd_schema import (
    DNS1123_LABEL,
    DNS1123_SUBDOMAIN,
    END,
    LABEL_VALUE,
    QUALIFIED_NAME,
)

Schema = dict[str, Any]

DNS1035_LABEL = rf"^[a-z]([-a-z0-9]*[a-z0-9])?{END}"
# RBAC object names: anything but `.`, `..`, `/` and `%`
PATH_SEGMENT = rf"^(?!\.{{1,2}}{END})[^/%]+{END}"
CONFIG_MAP_KEY = rf"^(?!\.{{1,2}}{END})[-._a-zA-Z0-9]+{END}"
MAX_DATA_BYTES = 1 << 20  # core.MaxSecretSize: a ConfigMap's or Secret's values together
MAX_ANNOTATION_BYTES = 256 << 10  # TotalAnnotationSizeLimitB: keys and values together

# What each name pattern is, for messages: (form, hint).
PATTERN_FORMS: dict[str, tuple[str, str]] = {
    DNS1123_SUBDOMAIN: (
        "a DNS-1123 subdomain",
        "at most 253 lower-case letters, digits, '-' and '.', starting and ending alphanumeric",
    ),
    DNS1123_LABEL: (
        "a DNS-1123 label",
        "at most 63 lower-case letters, digits and '-', starting and ending alphanumeric",
    ),
    DNS1035_LABEL: (
        "a DNS-1035 label",
        "at most 63 lower-case letters, digits and '-', starting with a letter",
    ),
    PATH_SEGMENT: ("a valid name", "any text but `.` and `..`, without '/' or '%'"),
    QUALIFIED_NAME: (
        "a valid key",
        "[prefix/]name: an optional DNS subdomain and '/', then at most 63 letters, digits, '-', "
        "'_' and '.', starting and ending alphanumeric",
    ),
    LABEL_VALUE: (
        "a valid label value",
        "empty, or at most 63 letters, digits, '-', '_' and '.', starting and ending alphanumeric",
    ),
    CONFIG_MAP_KEY: ("a valid data key", "letters, digits, '-', '_' and '.', but not `.` or `..`"),
}

# The name each kind's validation applies (ValidateObjectMeta's nameFn); DNS-1123 subdomain for the
# rest.
_NAME_RULES: dict[str, tuple[str, int]] = {
    "Namespace": (DNS1123_LABEL, 63),
    "Service": (DNS1035_LABEL, 63),
    "Role": (PATH_SEGMENT, 253),
    "ClusterRole": (PATH_SEGMENT, 253),
    "RoleBinding": (PATH_SEGMENT, 253),
    "ClusterRoleBinding": (PATH_SEGMENT, 253),
}


def metadata_schema(kind: str) -> Schema:
    """The rules for `metadata` of a built-in object of `kind`, checked on top of its schema."""
    pattern, longest = _NAME_RULES.get(kind, (DNS1123_SUBDOMAIN, 253))
    metadata: Schema = {
        "properties": {
            "name": {"type": "string", "maxLength": longest, "pattern": pattern},
            "namespace": {"type": "string", "maxLength": 63, "pattern": DNS1123_LABEL},
        },
    }
    if not kind.endswith("List"):
        metadata["anyOf"] = [{"required": ["name"]}, {"required": ["generateName"]}]
    schema: Schema = {"properties": {"metadata": metadata}}
    if kind == "ConfigMap":
        names: Schema = {"propertyNames": {"maxLength": 253, "pattern": CONFIG_MAP_KEY}}
        schema["properties"].update(data=names, binaryData=names)
    elif kind == "Secret":
        names = {"propertyNames": {"maxLength": 253, "pattern": CONFIG_MAP_KEY}}
        schema["properties"].update(data=names, stringData=names)
    return schema


_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_LABEL_SELECTOR = "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"


def tighten_definitions(definitions: dict[str, Schema]) -> None:
    """Add the label and annotation formats to the shared definitions, so that they hold wherever
    ObjectMeta or a label selector appears (an object's metadata, a pod template's, a selector's
    matchLabels), as the API server checks them there too."""
    key: Schema = {"maxLength": 317, "pattern": QUALIFIED_NAME}
    value: Schema = {"type": ["string", "null"], "maxLength": 63, "pattern": LABEL_VALUE}
    labels: Schema = {
        "type": ["object", "null"],
        "propertyNames": key,
        "additionalProperties": value,
    }
    meta = (definitions.get(_OBJECT_META) or {}).get("properties") or {}
    if "labels" in meta:
        meta["labels"] = {**meta["labels"], **labels}
    if "annotations" in meta:
        meta["annotations"] = {**meta["annotations"], "propertyNames": key}
    selector = (definitions.get(_LABEL_SELECTOR) or {}).get("properties") or {}
    if "matchLabels" in selector:
        selector["matchLabels"] = {**selector["matchLabels"], **labels}


def limit_problems(
    obj: dict[str, Any], kind: str, builtin: bool
) -> Iterator[tuple[Path, Rule, str]]:
    """(path, rule, message) for every size limit the object exceeds (annotations of every kind,
    the data of a built-in ConfigMap or Secret) and a ConfigMap key in both data and binaryData."""
    metadata = obj.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    if isinstance(annotations, dict):
        total = sum(
            _length(key) + _length(value)
            for key, value in annotations.items()
            if isinstance(value, str)
        )
        if total > MAX_ANNOTATION_BYTES:
            yield (
                ("metadata", "annotations"),
                codes.TOO_LARGE,
                f"annotations hold {total:,} bytes; the limit is {MAX_ANNOTATION_BYTES:,}",
            )
    if not builtin or kind not in ("ConfigMap", "Secret"):
        return
    fields = ("data", "binaryData") if kind == "ConfigMap" else ("data", "stringData")
    total = 0
    for name in fields:
        values = obj.get(name)
        if not isinstance(values, dict):
            continue
        encoded = name == "binaryData" or (kind == "Secret" and name == "data")  # base64
        measure = _decoded_length if encoded else _length
        total += sum(measure(value) for value in values.values() if isinstance(value, str))
    if total > MAX_DATA_BYTES:
        yield (
            (fields[0],) if isinstance(obj.get(fields[0]), dict) else (fields[1],),
            codes.TOO_LARGE,
            f"the {kind}'s values hold {total:,} bytes; the limit is {MAX_DATA_BYTES:,} (1 MiB)",
        )
    if kind == "ConfigMap" and isinstance(obj.get("data"), dict):
        binary = obj.get("binaryData")
        for key in obj["data"]:
            if isinstance(binary, dict) and key in binary:
                message = f"key {key!r} is in data too; a key may be in only one of them"
                yield ("binaryData", key), codes.DUPLICATE_ENTRY, message


def _length(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _decoded_length(text: str) -> int:
    """The bytes a base64 value stands for (its encoded length when it is not base64: the schema
    reports that)."""
    try:
        return len(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        return len(text)
