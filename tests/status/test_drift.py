"""The drift rule on plain dicts: every rendered field present and equal in the live object."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmops.status.drift import differences, object_drift
from llmops.status.model import Difference

RENDERED: dict[str, Any] = {
    "apiVersion": "serving.kserve.io/v1beta1",
    "kind": "InferenceService",
    "metadata": {
        "name": "chat",
        "namespace": "llm-ops-dev",
        "labels": {"llmops.io/endpoint": "chat"},
        "annotations": {"serving.kserve.io/deploymentMode": "Standard"},
    },
    "spec": {
        "predictor": {
            "automountServiceAccountToken": False,
            "minReplicas": 1,
            "scaleTarget": 80,
            "model": {
                "args": ["--model_name=chat", "--backend=vllm"],
                "resources": {"limits": {"cpu": "4"}},
            },
        }
    },
}


def with_changes(**changes: Any) -> dict[str, Any]:
    """RENDERED as a server would hold it, plus extra fields, with ``changes`` (dotted path ->
    value)."""
    live = copy.deepcopy(RENDERED)
    live["metadata"].update(uid="u-1", generation=3, finalizers=["inferenceservice.finalizers"])
    live["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] = "llmops-dev:..."
    live["spec"]["predictor"]["model"]["protocolVersion"] = "v1"
    live["status"] = {"conditions": []}
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = live
        for key in parents:
            node = node[key]
        node[last] = value
    return live


def test_fields_only_the_live_object_has_are_not_drift() -> None:
    assert object_drift(RENDERED, with_changes()) == []


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("spec.predictor.minReplicas", 3, Difference("spec.predictor.minReplicas", 1, 3, True)),
        (
            "spec.predictor.automountServiceAccountToken",
            0,
            Difference("spec.predictor.automountServiceAccountToken", False, 0, True),
        ),
        (
            "spec.predictor.model.args",
            ["--model_name=chat"],
            Difference(
                "spec.predictor.model.args",
                ["--model_name=chat", "--backend=vllm"],
                ["--model_name=chat"],
                True,
            ),
        ),
        (
            "spec.predictor.model.resources",
            "4",
            Difference("spec.predictor.model.resources", {"limits": {"cpu": "4"}}, "4", True),
        ),
    ],
)
def test_changed_values_are_drift(path: str, value: Any, expected: Difference) -> None:
    assert object_drift(RENDERED, with_changes(**{path: value})) == [expected]


def test_numbers_compare_by_value_but_strings_do_not_equal_numbers() -> None:
    assert object_drift(RENDERED, with_changes(**{"spec.predictor.scaleTarget": 80.0})) == []
    assert object_drift(RENDERED, with_changes(**{"spec.predictor.scaleTarget": "80"})) == [
        Difference("spec.predictor.scaleTarget", 80, "80", True)
    ]


def test_list_items_are_compared_in_place() -> None:
    live = with_changes()
    live["spec"]["predictor"]["model"]["args"][1] = "--backend=huggingface"
    assert object_drift(RENDERED, live) == [
        Difference("spec.predictor.model.args[1]", "--backend=vllm", "--backend=huggingface", True)
    ]


def test_removed_label_and_annotation_keys_are_drift_with_quoted_paths() -> None:
    live = with_changes()
    del live["metadata"]["labels"]
    del live["metadata"]["annotations"]["serving.kserve.io/deploymentMode"]
    assert object_drift(RENDERED, live) == [
        Difference('metadata.labels["llmops.io/endpoint"]', "chat", None, False),
        Difference(
            'metadata.annotations["serving.kserve.io/deploymentMode"]', "Standard", None, False
        ),
    ]


def test_name_namespace_and_status_are_not_compared() -> None:
    live = with_changes()
    live["metadata"]["namespace"] = "elsewhere"
    live["status"] = "anything"
    assert object_drift(RENDERED, live) == []


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(JSON)
def test_every_value_holds_itself(value: Any) -> None:
    assert differences(value, value) == []


@given(
    st.dictionaries(st.text(max_size=4), JSON, max_size=4),
    st.dictionaries(st.text(max_size=4), JSON, max_size=4),
)
def test_extra_live_keys_never_drift(rendered: dict[str, Any], extra: dict[str, Any]) -> None:
    assert differences(rendered, {**extra, **rendered}) == []
