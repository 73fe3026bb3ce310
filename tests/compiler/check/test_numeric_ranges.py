"""Every numeric field has a real-world range, documented in the JSON Schemas and checked at the
schema stage.

The fields are found by walking the spec models, so a numeric field added later without bounds fails
here. For each one, random numbers (huge, negative, tiny, NaN, infinity, hexadecimal, of the wrong
kind) are written into a minimal manifest: a value outside the documented range is a positioned
S003/S005 at that field, a value inside it is accepted, and nothing ever raises. The issue's
examples then run end to end through the CLI.
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import annotated_types
import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from compiler.check.schema import validate_document
from compiler.load.yaml_strict import parse_documents
from compiler.positions import Path as DataPath
from compiler.spec.canary import Canary
from compiler.spec.hyperparameters import KNOWN_HYPERPARAMETERS, MAX_JSON_INTEGER
from compiler.spec.kinds import KINDS
from compiler.spec.schemas import generate_schemas
from compiler.spec.serving import AutoscalePolicy
from tests.helpers.estate import copy_bundled_estate, run_cli

# A minimal valid spec per kind, and what a nested object needs besides the field under test.
BASE_SPECS: dict[str, dict[str, Any]] = {
    "Environment": {},
    "Model": {"version": "1", "type": "base", "storageUri": "s3://models/m/1/"},
    "Dataset": {"version": "v1", "type": "text", "storage_uri": "s3://datasets/d/v1/"},
    "TrainingJob": {"modelId": "m@1", "datasetId": "d@v1", "jobType": "finetune"},
    "ServingEndpoint": {"modelId": "m@1", "route": "/llm-ops/v1/serve/e"},
    "PromptExperiment": {
        "templateAId": "a",
        "templateBId": "b",
        "allocation": 50,
        "metric": "latency_ms",
    },
}
NESTED_REQUIRED: dict[str, dict[str, Any]] = {
    "ResourceProfile": {"cpuCores": 1, "memory": "1Gi", "maxDuration": 60},
    "RuntimeLimits": {"max_concurrent_requests": 1, "max_input_tokens": 1, "max_output_tokens": 1},
    "AutoscalePolicy": {"cpuUtilization": 50},
    "Canary": {"model": "m@2", "weight": 7},
}
# Checked by a rule of its own at the check stage (E003, T001, each with its own fixture),
# documented in the schema.
CHECK_STAGE_RANGES = {(AutoscalePolicy, "cpu_utilization"), (Canary, "weight")}


@dataclass(frozen=True)
class NumericField:
    kind: str
    path: tuple[str, ...]  # within spec
    integer_only: bool
    low: float
    low_inclusive: bool
    high: float

    def __str__(self) -> str:
        return f"{self.kind}:spec.{'.'.join(self.path)}"

    def allows(self, value: int | float) -> bool:
        if isinstance(value, float) and (self.integer_only or not math.isfinite(value)):
            return False
        above = value >= self.low if self.low_inclusive else value > self.low
        return above and value <= self.high


def _unwrap(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, __import__("types").UnionType):
        return [inner for arg in typing.get_args(annotation) for inner in _unwrap(arg)]
    return [annotation]


def _bounds(field: FieldInfo) -> tuple[float | None, bool, float | None]:
    low: float | None = None
    inclusive, high = True, None
    documented = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    low, high = documented.get("minimum"), documented.get("maximum")  # type: ignore[assignment]
    for constraint in field.metadata:
        if isinstance(constraint, annotated_types.Ge):
            low = constraint.ge  # type: ignore[assignment]
        elif isinstance(constraint, annotated_types.Gt):
            low, inclusive = constraint.gt, False  # type: ignore[assignment]
        elif isinstance(constraint, annotated_types.Le):
            high = constraint.le  # type: ignore[assignment]
    return low, inclusive, high


def numeric_fields() -> tuple[list[NumericField], list[str]]:
    """Every numeric field of every kind, and the names of those without both bounds."""
    found: list[NumericField] = []
    unbounded: list[str] = []

    def walk(kind: str, model: type[BaseModel], prefix: tuple[str, ...]) -> None:
        for name, field in model.model_fields.items():
            key = field.alias or name
            types = _unwrap(field.annotation)
            numeric = [t for t in types if t in (int, float)]
            if numeric and (model, name) not in CHECK_STAGE_RANGES:
                low, inclusive, high = _bounds(field)
                if low is None or high is None:
                    unbounded.append(f"{kind}:spec.{'.'.join((*prefix, key))}")
                else:
                    found.append(
                        NumericField(
                            kind, (*prefix, key), float not in numeric, low, inclusive, high
                        )
                    )
            for nested in types:
                if isinstance(nested, type) and issubclass(nested, BaseModel):
                    walk(kind, nested, (*prefix, key))

    for kind, info in KINDS.items():
        spec = info.model.model_fields["spec"].annotation
        assert isinstance(spec, type) and issubclass(spec, BaseModel)
        walk(kind, spec, ())
    for key, bound in KNOWN_HYPERPARAMETERS.items():
        found.append(
            NumericField(
                "TrainingJob",
                ("trainJobSpec", "hyperparameters", key),
                bound.integer,
                bound.minimum,
                not bound.exclusive_minimum,
                bound.maximum,
            )
        )
    return found, unbounded


FIELDS, UNBOUNDED = numeric_fields()


def test_every_numeric_field_has_a_lower_and_an_upper_bound() -> None:
    assert len(FIELDS) > 30
    assert UNBOUNDED == []


def test_every_range_is_in_the_generated_json_schema() -> None:
    import json

    schemas = {name: json.loads(text) for name, text in generate_schemas().items()}
    for field in FIELDS:
        schema = schemas[f"{field.kind.lower()}.schema.json"]
        node = schema["properties"]["spec"]
        for key in field.path:
            node = _resolve(schema, node)
            node = node["properties"][key]
        node = _resolve(schema, node)
        high = node.get("maximum")
        low = node.get("minimum", node.get("exclusiveMinimum"))
        assert (low, high) == (field.low, field.high), str(field)


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow `$ref` and take the non-null branch of an optional value."""
    while True:
        if "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
        elif "anyOf" in node:
            branches = [branch for branch in node["anyOf"] if branch.get("type") != "null"]
            if len(branches) != 1:
                # `integer or number` (or `integer or string`): the bounds are on the union
                return node
            node = branches[0]
        else:
            return node


# -- writing a value into a manifest and validating it
# -----------------------------------------------


def manifest_text(field: NumericField, literal: str) -> str:
    spec: dict[str, Any] = dict(BASE_SPECS[field.kind])
    node = spec
    models = _models_on_path(field)
    for key, model in zip(field.path[:-1], models, strict=True):
        node = node.setdefault(key, dict(NESTED_REQUIRED.get(model.__name__, {})) if model else {})
    node[field.path[-1]] = "__VALUE__"
    document = {
        "apiVersion": "llmops.io/v1",
        "kind": field.kind,
        "metadata": {"name": "x"},
        "spec": spec,
    }
    return yaml.safe_dump(document, sort_keys=False).replace("__VALUE__", literal)


def _models_on_path(field: NumericField) -> list[type[BaseModel] | None]:
    spec = KINDS[field.kind].model.model_fields["spec"].annotation
    model: Any = spec
    found: list[type[BaseModel] | None] = []
    for key in field.path[:-1]:
        nested = None
        if model is not None:
            info = next((f for n, f in model.model_fields.items() if (f.alias or n) == key), None)
            if info is not None:
                nested = next(
                    (
                        t
                        for t in _unwrap(info.annotation)
                        if isinstance(t, type) and issubclass(t, BaseModel)
                    ),
                    None,
                )
        found.append(nested)
        model = nested
    return found


def literal_of(value: int | float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return ".nan"
    if isinstance(value, float) and math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    return repr(value)


def diagnose(field: NumericField, literal: str) -> list[tuple[str, DataPath, int]]:
    text = manifest_text(field, literal)
    documents, problems = parse_documents("m.yaml", text)
    assert problems == [], problems
    _, diagnostics = validate_document(documents[0])
    line = next(number for number, row in enumerate(text.splitlines(), 1) if literal in row)
    return [
        (d.code, d.path, d.span.line if d.span.line == line else -d.span.line) for d in diagnostics
    ]


NUMBERS = st.one_of(
    st.integers(-(10**30), 10**30),
    st.integers(-1000, 1000),
    st.integers(-(2**64), 2**64),
    st.floats(),
    st.floats(-1e6, 1e6),
    st.floats(1e-320, 1e-3),
    st.sampled_from(
        [
            0,
            1,
            -1,
            2**53,
            2**53 + 1,
            2**63,
            10**12,
            99999999999999999999,
            0.5,
            0.001,
            0.0005,
            1e-300,
            1e300,
            math.nan,
            math.inf,
            -math.inf,
            100.0,
            1.0,
        ]
    ),
)


@pytest.mark.parametrize("field", FIELDS, ids=str)
@given(value=NUMBERS)
@example(value=math.nan)
@example(value=10**100 - 1)
def test_a_number_outside_the_range_is_refused_at_its_field_and_inside_it_accepted(
    field: NumericField, value: int | float
) -> None:
    found = diagnose(field, literal_of(value))
    here = [(code, line) for code, path, line in found if path == ("spec", *field.path)]
    if field.allows(value) and not (
        field.path[-1] == "hyperparameters" or _extra_rule(field, value)
    ):
        assert found == [], (str(field), value, found)
    elif not field.allows(value):
        assert here and all(code in ("S003", "S005") and line > 0 for code, line in here), (
            str(field),
            value,
            found,
        )


def _extra_rule(field: NumericField, value: int | float) -> bool:
    """Rules besides the range: CPU in whole millicores; hyperparameter integers within ±2^53."""
    if field.path[-1] == "cpuCores" and isinstance(value, float):
        return abs(value * 1000 - round(value * 1000)) > 1e-9
    return (
        isinstance(value, int) and abs(value) > MAX_JSON_INTEGER and "hyperparameters" in field.path
    )


@pytest.mark.parametrize("literal", ["0x" + "f" * 90, "0o" + "7" * 90, "-" + "9" * 99])
def test_long_hex_octal_and_negative_literals_are_range_errors_not_crashes(literal: str) -> None:
    field = next(f for f in FIELDS if f.path == ("maxReplicas",))
    ((code, path, line),) = diagnose(field, literal)
    assert (code, path) == ("S005", ("spec", "maxReplicas")) and line > 0  # at the value's own line


# -- the issue's examples, end to end
# ------------------------------------------------------------------

ENDPOINT = "environments/dev/serving/example-model.yaml"
TRAINING = "environments/dev/training/customer-support-sft.yaml"
PROD = "environments/prod/environment.yaml"
PROD_ENDPOINT = "environments/prod/serving/example-model.yaml"


@pytest.mark.parametrize(
    ("file", "old", "new", "where"),
    [
        (
            ENDPOINT,
            "maxReplicas: 3",
            "maxReplicas: " + "9" * 99,
            "11:16: error[S005]: spec.maxReplicas must be at most",
        ),
        (
            ENDPOINT,
            "maxReplicas: 3",
            "maxReplicas: 0x" + "f" * 98,
            "11:16: error[S005]: spec.maxReplicas must be at most",
        ),
        (
            TRAINING,
            "maxDuration: 60",
            "maxDuration: " + "9" * 30,
            "16:18: error[S005]: spec.resourceProfile.maxDuration",
        ),
        (
            TRAINING,
            "cpuCores: 4",
            "cpuCores: .inf",
            "14:15: error[S005]: spec.resourceProfile.cpuCores must be a finite",
        ),
        (
            TRAINING,
            "cpuCores: 4",
            "cpuCores: 1e-300",
            "14:15: error[S005]: spec.resourceProfile.cpuCores must be at least",
        ),
        (
            TRAINING,
            "learning_rate: 2e-5",
            "learning_rate: .nan",
            "27:22: error[S005]: spec.trainJobSpec.hyperparameters.learning_rate must be a finite "
            "number",
        ),
        (
            TRAINING,
            "learning_rate: 2e-5",
            "learning_rate: 5",
            "27:22: error[S005]: spec.trainJobSpec.hyperparameters.learning_rate must be a number "
            "above 0 and at most 1",
        ),
        (
            PROD_ENDPOINT,
            "gpus: 1",
            "gpus: 99999999999999999999",
            "21:13: error[S005]: spec.deploymentSpec.resources.gpus",
        ),
        (
            PROD,
            "maxPerEndpoint: 4",
            f"maxPerEndpoint: {10**12}",
            "15:21: error[S005]: spec.gpu.maxPerEndpoint must be",
        ),
    ],
)
@pytest.mark.parametrize("command", ["validate", "render"])
def test_issue_examples_are_positioned_schema_errors(
    tmp_path: Path, file: str, old: str, new: str, where: str, command: str
) -> None:
    root = copy_bundled_estate(tmp_path)
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    env = file.split("/")[1]
    result = run_cli(command, str(root), "--env", env)
    assert result.exit_code == 1, result.stderr
    report = result.stdout + result.stderr
    assert f"{file}:{where}" in report, report
    assert "internal error" not in report
