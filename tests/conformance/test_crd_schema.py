"""The CRD dialect's extensions judged as the API server judges them (strict field validation).

Each case is a small openAPIV3Schema written the way controller-gen writes CRDs, converted and
compiled, then given objects the API server accepts or refuses.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from llmops.conformance.catalog import _kubernetes_validator_class
from llmops.conformance.crd_schema import convert, resource_schema


def accepts(source: dict[str, Any], value: Any) -> bool:
    return not list(_kubernetes_validator_class()(convert(source)).iter_errors(value))


OBJECT = {"type": "object", "properties": {"name": {"type": "string"}}}
NUMBER = r"(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
QUANTITY = {
    "anyOf": [{"type": "integer"}, {"type": "string"}],
    "x-kubernetes-int-or-string": True,
    "pattern": rf"^(\+|-)?{NUMBER}(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?{NUMBER}))?$",
}


@pytest.mark.parametrize(
    ("source", "value", "ok"),
    [
        (OBJECT, {"name": "a"}, True),
        (OBJECT, {"nmae": "a"}, False),  # unknown field: strict validation refuses it
        (
            {**OBJECT, "x-kubernetes-preserve-unknown-fields": True},
            {"name": "a", "anything": {"x": 1}},
            True,
        ),
        # declared fields still typed
        ({**OBJECT, "x-kubernetes-preserve-unknown-fields": True}, {"name": 1}, False),
        # a map
        ({"type": "object", "additionalProperties": {"type": "string"}}, {"any-key": "v"}, True),
        ({"type": "object", "additionalProperties": {"type": "string"}}, {"any-key": 1}, False),
        (QUANTITY, "500m", True),
        (QUANTITY, 2, True),
        (QUANTITY, 0.5, False),  # a float is neither integer nor string
        (QUANTITY, "24 GB", False),  # the pattern applies to strings
        ({"type": "string"}, None, False),
        ({"type": "string", "nullable": True}, None, True),
        ({"type": "string", "enum": ["a"], "nullable": True}, None, True),
        (
            {"type": "object", "x-kubernetes-embedded-resource": True},
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}},
            True,
        ),
        (
            {"type": "object", "x-kubernetes-embedded-resource": True},
            {"apiVersion": "v1", "spec": {}},
            False,
        ),
        (
            {
                "type": "object",
                "x-kubernetes-embedded-resource": True,
                "x-kubernetes-preserve-unknown-fields": True,
            },
            {"apiVersion": "v1", "kind": "Pod", "spec": {}},
            True,
        ),
        (
            {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
            ["a", "b"],
            True,
        ),
        (
            {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
            ["a", "a"],
            False,
        ),
        # OpenAPI 3.0's boolean form
        ({"type": "integer", "minimum": 1, "exclusiveMinimum": True}, 1, False),
        ({"type": "integer", "minimum": 1, "exclusiveMinimum": True}, 2, True),
        ({"type": "integer", "minimum": 1}, 1, True),
    ],
)
def test_extension(source: dict[str, Any], value: Any, ok: bool) -> None:
    assert accepts(source, value) is ok


KEYED = {
    "type": "array",
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["name", "protocol"],
    "items": {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "protocol": {"type": "string", "default": "TCP"},
        },
    },
}


def test_keyed_list_entries_are_unique_by_their_keys_with_defaults_filled_in() -> None:
    assert accepts(KEYED, [{"name": "a"}, {"name": "a", "protocol": "UDP"}])
    # TCP is the default
    assert not accepts(KEYED, [{"name": "a"}, {"name": "a", "protocol": "TCP"}])
    (error,) = _kubernetes_validator_class()(convert(KEYED)).iter_errors(
        [{"name": "a"}, {"name": "b"}, {"name": "a"}]
    )
    assert list(error.absolute_path) == [2] and "entries 0 and 2 have the same key" in error.message


def test_a_required_field_with_a_default_is_not_required_of_the_author() -> None:
    source = {
        "type": "object",
        "required": ["mode", "name"],
        "properties": {"mode": {"type": "string", "default": "Auto"}, "name": {"type": "string"}},
    }
    assert accepts(source, {"name": "x"})
    assert not accepts(source, {"mode": "Auto"})


def test_the_root_names_its_kind_and_closes_metadata() -> None:
    schema = resource_schema(
        {"type": "object", "properties": {"spec": OBJECT}}, "example.io/v1", "Thing"
    )
    validator = jsonschema.Draft202012Validator(schema)

    def errors(obj: dict[str, Any]) -> list[str]:
        return sorted(e.validator for e in validator.iter_errors(obj))

    good = {
        "apiVersion": "example.io/v1",
        "kind": "Thing",
        "metadata": {"name": "a", "labels": {"app": "x"}},
    }
    assert errors(good) == []
    assert errors({**good, "kind": "Other"}) == ["const"]
    assert errors({**good, "metadata": {"name": "a", "lables": {}}}) == ["additionalProperties"]
    assert errors({**good, "metadata": {"name": "Not_DNS"}}) == ["pattern"]
    assert errors({**good, "metadata": {"generateName": "a-"}}) == []
    # neither name nor generateName
    assert errors({**good, "metadata": {"namespace": "n"}}) == ["anyOf"]
    assert errors({**good, "metadata": {"name": "a", "labels": {"app": True}}}) == ["type"]
    assert errors({**good, "metadata": {"name": "a", "labels": {"app": "x" * 64}}}) == ["maxLength"]
    assert errors({**good, "status": {}}) == ["additionalProperties"]  # the CRD declares no status


def test_a_crd_may_narrow_metadata_name() -> None:
    narrowed = {
        "type": "object",
        "properties": {"metadata": {"type": "object", "properties": {"name": {"maxLength": 5}}}},
    }
    validator = jsonschema.Draft202012Validator(resource_schema(narrowed, "example.io/v1", "Thing"))
    base = {"apiVersion": "example.io/v1", "kind": "Thing"}
    assert list(validator.iter_errors({**base, "metadata": {"name": "short"}})) == []
    assert [
        e.validator for e in validator.iter_errors({**base, "metadata": {"name": "longer"}})
    ] == ["maxLength"]
