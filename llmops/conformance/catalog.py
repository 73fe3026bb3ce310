"""Which schema judges an object, and one compiled validator per apiVersion and kind.

CRD kinds: the vendored CRD file that serves the kind (sources.json's index) is read and converted
once. Built-in kinds: the strict OpenAPI schemas shipped by `kubernetes-validate`, read straight
from the package's data (its `validate()` re-reads megabytes of JSON on every call; a compiled
validator per kind checks thousands of objects a second). `jsonschema` is imported on first use
only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from compiler.errors import LlmopsError
from compiler.records import record
from llmops.conformance import go_regex
from llmops.conformance.builtin_rules import metadata_schema, tighten_definitions
from llmops.conformance.crd_schema import resource_schema
from llmops.conformance.sources import data_dir, kind_index, read_sources
from llmops.extras import install_hint

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

_SCHEMA_ROOT = "kubernetes-json-schema"
# Defaults of list keys that the built-in schemas (converted from OpenAPI v2) do not state: a port
# without a protocol is a TCP port, the same key as one that says TCP.
_KEY_DEFAULTS = {"protocol": "TCP"}
_GROUP_PREFIX = re.compile(r"^([^./]*)(?:\.[^/]*)?/")  # networking.k8s.io/v1 -> networking-v1


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise LlmopsError(
            f"checking conformance needs the Python package {module.split('.')[0]!r}, which is not "
            f"installed ({error})",
            hint=install_hint("conform"),
        ) from error


def _unique_by_keys(
    validator: Any, keys: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[Any]:
    """`x-kubernetes-list-map-keys`: in a `map` list no two items share their key fields (defaults
    included)."""
    jsonschema = _require("jsonschema")
    if (
        schema.get("x-kubernetes-list-type") != "map"
        or not isinstance(instance, list)
        or not isinstance(keys, list)
    ):
        return
    item_properties = (schema.get("items") or {}).get("properties") or {}
    first: dict[str, int] = {}
    for index, item in enumerate(instance):
        if not isinstance(item, dict):
            continue
        values = [
            item.get(key, (item_properties.get(key) or {}).get("default", _KEY_DEFAULTS.get(key)))
            for key in keys
        ]
        marker = json.dumps(values, sort_keys=True)
        if marker in first:
            described = ", ".join(
                f"{key}={value!r}" for key, value in zip(keys, values, strict=True)
            )
            yield jsonschema.ValidationError(
                f"entries {first[marker]} and {index} have the same key ({described})", path=[index]
            )
        else:
            first[marker] = index


def _go_pattern(
    validator: Any, pattern: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[Any]:
    """`pattern`, with `$` matching only at the end of the text, as in the API server."""
    jsonschema = _require("jsonschema")
    if (
        isinstance(instance, str)
        and isinstance(pattern, str)
        and not go_regex.search(pattern, instance)
    ):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _go_pattern_properties(
    validator: Any, patterns: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[Any]:
    """`patternProperties`, keys matched as the API server matches them."""
    if not isinstance(instance, dict) or not isinstance(patterns, dict):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if go_regex.search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


@cache
def _kubernetes_validator_class() -> Any:
    jsonschema = _require("jsonschema")
    return jsonschema.validators.extend(
        jsonschema.Draft202012Validator,
        {
            "x-kubernetes-list-map-keys": _unique_by_keys,
            "pattern": _go_pattern,
            "patternProperties": _go_pattern_properties,
        },
    )


@record
class Verdict:
    """What judges one apiVersion/kind: a validator, or why there is none (``served`` lists a known
    group's kinds)."""

    validator: Validator | None
    source: str  # the CRD file or the Kubernetes version, for messages
    served: tuple[str, ...] = ()
    builtin: bool = False  # a built-in kind: the API server's own rules apply (builtin_rules)


@dataclass
class SchemaCatalog:
    """Validators for every kind, built on first use and kept for the catalog's life."""

    # e.g. "1.33"; default: the newest kubernetes-validate knows
    kubernetes_version: str | None = None
    root: Path = field(default_factory=data_dir)
    _verdicts: dict[tuple[str, str], Verdict] = field(default_factory=dict)
    _crd_files: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = kind_index(read_sources(self.root))
        self.groups = {api_version.split("/")[0] for api_version, _ in self.index}

    def verdict(self, api_version: str, kind: str) -> Verdict:
        key = (api_version, kind)
        if key not in self._verdicts:
            self._verdicts[key] = self._judge(api_version, kind)
        return self._verdicts[key]

    def _judge(self, api_version: str, kind: str) -> Verdict:
        crd_file = self.index.get((api_version, kind))
        if crd_file is not None:
            return Verdict(self._crd_validator(crd_file, api_version, kind), crd_file)
        group = api_version.split("/")[0] if "/" in api_version else ""
        if group in self.groups:
            served = tuple(sorted(f"{v} {k}" for v, k in self.index if v.split("/")[0] == group))
            return Verdict(None, "", served)
        builtin = builtin_schemas(self.kubernetes_version)
        return Verdict(
            builtin.validator(api_version, kind), f"Kubernetes {builtin.version}", builtin=True
        )

    def _crd_validator(self, crd_file: str, api_version: str, kind: str) -> Validator:
        if crd_file not in self._crd_files:
            text = (self.root / crd_file).read_text(encoding="utf-8")
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            self._crd_files[crd_file] = [
                doc for doc in yaml.load_all(text, Loader=loader) if isinstance(doc, dict)
            ]
        group, version = api_version.split("/")
        for crd in self._crd_files[crd_file]:
            spec = crd.get("spec") or {}
            if spec.get("group") != group or (spec.get("names") or {}).get("kind") != kind:
                continue
            for served in spec.get("versions") or []:
                if served.get("name") == version:
                    open_api = (served.get("schema") or {}).get("openAPIV3Schema")
                    validator: Validator = _kubernetes_validator_class()(
                        resource_schema(open_api, api_version, kind)
                    )
                    return validator
        raise LlmopsError(
            f"{crd_file} does not serve {api_version} {kind}, as sources.json says it does",
            hint="the vendored data is inconsistent; run `make test` to see which file changed",
        )


@dataclass
class BuiltinSchemas:
    """kubernetes-validate's strict schemas of one Kubernetes version, compiled once per kind."""

    version: str
    folder: Any  # an importlib.resources Traversable
    registry: Any
    validators: dict[tuple[str, str], Validator | None] = field(default_factory=dict)

    def validator(self, api_version: str, kind: str) -> Validator | None:
        key = (api_version, kind)
        if key not in self.validators:
            self.validators[key] = self._compile(api_version, kind)
        return self.validators[key]

    def _compile(self, api_version: str, kind: str) -> Validator | None:
        group_version = _GROUP_PREFIX.sub(r"\1-", api_version)
        name = f"{kind.lower()}-{group_version}.json"
        entry = self.folder / name
        if "/" in kind or not entry.is_file():
            return None
        schema = json.loads(entry.read_text(encoding="utf-8"))
        if schema.get("x-kubernetes-group-version-kind") is None and "properties" not in schema:
            return None
        # the kind's schema and the API server's name, label and key rules (see builtin_rules);
        # without its `$schema`, which would make jsonschema judge it with the plain 2020-12
        # validator, blind to `x-kubernetes-list-map-keys`
        schema.pop("$schema", None)
        combined = {"allOf": [schema, metadata_schema(kind)]}
        validator: Validator = _kubernetes_validator_class()(combined, registry=self.registry)
        return validator


def kubernetes_versions() -> list[str]:
    """The Kubernetes versions (major.minor) whose strict schemas kubernetes-validate ships, oldest
    first."""
    from importlib.resources import files

    _require("kubernetes_validate")
    found = []
    for entry in (files("kubernetes_validate") / _SCHEMA_ROOT).iterdir():
        match = re.fullmatch(r"v(\d+)\.(\d+)\.\d+-local-strict", entry.name)
        if match:
            found.append((int(match.group(1)), int(match.group(2))))
    return [f"{major}.{minor}" for major, minor in sorted(found)]


def schema_version(wanted: str | None) -> str:
    """The Kubernetes version ``wanted`` (`X.Y` or `vX.Y`; None: the newest) names. **Raises:**
    ``LlmopsError`` when no schemas ship for it: a command checks this before it does anything."""
    versions = kubernetes_versions()
    version = wanted.removeprefix("v") if wanted else versions[-1]
    if version not in versions:
        raise LlmopsError(
            f"no schemas for Kubernetes {version}",
            hint=f"choose one of {', '.join(versions)} (or upgrade kubernetes-validate)",
        )
    return version


@cache
def builtin_schemas(wanted: str | None) -> BuiltinSchemas:
    from importlib.resources import files

    version = schema_version(wanted)
    referencing = _require("referencing")
    folder = next(
        entry
        for entry in (files("kubernetes_validate") / _SCHEMA_ROOT).iterdir()
        if entry.name.startswith(f"v{version}.") and entry.name.endswith("-local-strict")
    )
    definitions = json.loads((folder / "_definitions.json").read_text(encoding="utf-8"))
    tighten_definitions(definitions.get("$defs") or {})
    resource = referencing.Resource.from_contents(definitions)
    registry = referencing.Registry().with_resource(resource.id(), resource)
    return BuiltinSchemas(version, folder, registry)
