"""A manifest's spec is typed by its kind, so a misspelled field fails the type check, not a user.

`ResolvedEnvironment.of_kind` and `resolve_named` carry one overload per kind; mypy, run here on
a small snippet, must give each kind its spec model from compiler/spec/kinds.py and reject a
misspelled field. One cold mypy run takes about 5 s.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from pydantic import BaseModel

from compiler.spec.dataset import DatasetSpec
from compiler.spec.kinds import KINDS
from compiler.spec.model import ModelSpec
from tests.helpers.estate import copy_bundled_estate, validate
from tests.helpers.mypy_snippet import run_mypy


def spec_model(kind: str) -> type[BaseModel]:
    annotation = KINDS[kind].model.model_fields["spec"].annotation
    assert isinstance(annotation, type) and issubclass(annotation, BaseModel)
    return annotation


def qualified(model: type[BaseModel]) -> str:
    return f"{model.__module__}.{model.__qualname__}"


def test_each_kind_has_its_own_spec_model() -> None:
    """`has_spec` and the typed indexes tell kinds apart by their spec model."""
    models = [spec_model(kind) for kind in KINDS]
    assert len(set(models)) == len(models)


def test_versioned_kinds_are_those_the_pipeline_reads_a_version_from() -> None:
    """compiler/pipeline.py takes `spec.version` from Model and Dataset specs only."""
    for kind, info in KINDS.items():
        assert info.versioned == (spec_model(kind) in (ModelSpec, DatasetSpec)), kind


def test_every_manifest_carries_its_kinds_spec_model(tmp_path: Path) -> None:
    result = validate(copy_bundled_estate(tmp_path))
    for env in result.estate.environments:
        assert env.manifests
        for manifest in env.manifests:
            assert type(manifest.spec) is spec_model(manifest.kind), manifest.subject
            assert manifest in env.of_kind(manifest.kind)


def test_mypy_types_each_kind_and_rejects_a_misspelled_field(tmp_path: Path) -> None:
    unversioned = [kind for kind, info in KINDS.items() if not info.versioned]
    lines = [
        "from compiler.resolve.environment import ResolvedEnvironment",
        "",
        "def check(env: ResolvedEnvironment) -> None:",
        *(f'    reveal_type(env.of_kind("{kind}")[0].spec)' for kind in KINDS),
        *(f'    reveal_type(env.resolve_named("{kind}", "x").manifest)' for kind in unversioned),
        '    reveal_type(env.resolve_model("x").manifest)',
        '    reveal_type(env.resolve_dataset("x").manifest)',
        '    for endpoint in env.of_kind("ServingEndpoint"):',
        "        print(endpoint.spec.min_replica)",
    ]
    run = run_mypy(tmp_path, lines)
    found = run.found
    manifest = "compiler.resolve.manifest.Manifest"
    expected = [
        *(f'Revealed type is "{qualified(spec_model(kind))}"' for kind in KINDS),
        *(
            f'Revealed type is "{manifest}[{qualified(spec_model(kind))}] | None"'
            for kind in unversioned
        ),
        f'Revealed type is "{manifest}[{qualified(ModelSpec)}] | None"',
        f'Revealed type is "{manifest}[{qualified(DatasetSpec)}] | None"',
        '"ServingEndpointSpec" has no attribute "min_replica"; maybe "min_replicas" or '
        '"max_replicas"?  [attr-defined]',
    ]
    assert [message for _, message in found] == expected, textwrap.indent(run.stdout, "  ")
    assert found[-1][0] == len(lines)
    assert run.returncode == 1
