"""The checker on whole objects: upstream examples pass, known-bad objects fail with a code at the
right place."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from llmops.conformance.catalog import SchemaCatalog
from llmops.conformance.verify import check_text
from tests.helpers.conformance import catalog
from tests.helpers.estate import PROJECT_ROOT

SAMPLES = sorted((PROJECT_ROOT / "conformance" / "samples").glob("*.yaml"))


def problems(text: str) -> list[tuple[str, int, int, str]]:
    _, diagnostics = check_text("m.yaml", text, catalog())
    return [(d.code, d.span.line, d.span.column, d.message) for d in diagnostics]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda path: path.name)
def test_upstream_examples_conform(sample: Path) -> None:
    objects, diagnostics = check_text(sample.name, sample.read_text(encoding="utf-8"), catalog())
    assert objects == 1 and diagnostics == []


ISVC = """\
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: llama3
spec:
  predictor:
    minReplicas: 1
    model:
      modelFormat: {name: huggingface}
      resources:
        limits: {cpu: "2", memory: 24Gi}
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "      modelFormat:",
            "      modelFromat:",
            (
                "V001",
                9,
                7,
                'InferenceService llama3: unknown field "modelFromat" in spec.predictor.model',
            ),
        ),
        (
            "  name: llama3\n",
            "  name: llama3\n  lables: {}\n",
            ("V001", 5, 3, 'InferenceService llama3: unknown field "lables" in metadata'),
        ),
        (
            "minReplicas: 1",
            "minReplicas: one",
            (
                "V002",
                7,
                18,
                "InferenceService llama3: spec.predictor.minReplicas must be integer, not string "
                "'one'",
            ),
        ),
        (
            'cpu: "2"',
            "cpu: 0.5",
            (
                "V002",
                11,
                23,
                "InferenceService llama3: spec.predictor.model.resources.limits.cpu "
                "must be integer or string, not number 0.5",
            ),
        ),
        ("memory: 24Gi", "memory: 24 GB", ("V004", 11, 36, None)),
        (
            "  name: llama3\n",
            "  namespace: x\n",
            (
                "V003",
                4,
                3,
                'InferenceService (no name): metadata is missing the required field "name"',
            ),
        ),
        (
            "v1beta1",
            "v1beta2",
            (
                "V005",
                1,
                13,
                "InferenceService llama3: serving.kserve.io/v1beta2 InferenceService is "
                "not served by the vendored CRDs",
            ),
        ),
        (
            "kind: InferenceService",
            "kind: InferenceServise",
            (
                "V005",
                1,
                13,
                "InferenceServise llama3: serving.kserve.io/v1beta1 InferenceServise is not "
                "served by the vendored CRDs",
            ),
        ),
        # YAML keeps its code
        ("  name: llama3\n", "  name: llama3\n  name: llama3\n", ("Y002", 5, 3, None)),
    ],
)
def test_known_bad_objects_fail_at_the_mistake(
    old: str, new: str, expected: tuple[str, int, int, str | None]
) -> None:
    assert problems(ISVC) == []
    assert old in ISVC
    (found,) = problems(ISVC.replace(old, new))
    assert found[:3] == expected[:3]
    if expected[3] is not None:
        assert found[3] == expected[3]


def test_built_in_kinds_are_checked_strictly() -> None:
    deployment = """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: d}
        spec:
          replicas: "2"
          selector: {matchLabels: {app: d}}
          template:
            metadata: {labels: {app: d}}
            spec:
              containers:
              - {name: c, image: x, imagePullPolicy: Always, prots: []}
        """
    found = problems(deployment.replace("\n        ", "\n").strip() + "\n")
    assert [(code, line) for code, line, _, _ in found] == [("V002", 5), ("V001", 11)]
    assert 'unknown field "prots" in spec.template.spec.containers[0]' in found[1][3]


def test_kinds_nobody_describes_fail_and_client_side_files_are_skipped() -> None:
    assert [
        code
        for code, *_ in problems("apiVersion: example.io/v1\nkind: Widget\nmetadata: {name: w}\n")
    ] == ["V006"]
    objects, diagnostics = check_text(
        "k.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n",
        catalog(),
    )
    assert (objects, diagnostics) == (0, [])
    assert [code for code, *_ in problems("just: data\n")] == ["V008"]


def test_the_items_of_a_list_are_each_checked_with_their_own_positions() -> None:
    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}, data: {k: v}}\n"
        "- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}, date: {k: v}}\n"
    )
    assert [(code, line) for code, line, _, _ in problems(text)] == [("V001", 5)]


def test_a_kubernetes_version_can_be_chosen_and_an_unknown_one_is_refused() -> None:
    from compiler.errors import LlmopsError

    old = SchemaCatalog("1.25")
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
    assert check_text("m.yaml", text, old)[1] == []
    assert old.verdict("v1", "ConfigMap").source == "Kubernetes 1.25"
    with pytest.raises(LlmopsError, match=r"no schemas for Kubernetes 1\.2$"):
        check_text("m.yaml", text, SchemaCatalog("1.2"))


def test_one_validator_per_kind_checks_thousands_of_objects_a_second() -> None:
    """kubernetes_validate.validate() re-reads its schema files per call (~70 objects/s); ours
    compiles once."""
    fresh = SchemaCatalog()
    text = "".join(
        f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\ndata: {{k: v}}\n"
        for i in range(2000)
    )
    check_text("warm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n", fresh)
    validator = fresh.verdict("v1", "ConfigMap").validator
    started = time.perf_counter()
    objects, diagnostics = check_text("many.yaml", text, fresh)
    elapsed = time.perf_counter() - started
    assert (objects, diagnostics) == (2000, [])
    assert fresh.verdict("v1", "ConfigMap").validator is validator
    assert elapsed < 10, f"{objects / elapsed:.0f} objects/s"
