"""An endpoint's footprint covers what it depends on, and changes are described as people say
them."""

from __future__ import annotations

from typing import Any

from compiler.diff.footprint import describe_changes, endpoint_footprint


def documents(
    max_replicas: int = 3,
    template: str = "Be brief.",
    model: str = "base-1.0",
    approver: str | None = "alice",
) -> dict[tuple[str, str, str | None], Any]:
    docs: dict[tuple[str, str, str | None], Any] = {
        ("ServingEndpoint", "chat", None): {
            "spec": {"modelId": model, "maxReplicas": max_replicas}
        },
        ("Model", "base", "1.0"): {"spec": {"version": "1.0"}},
        ("Model", "base", "1.1"): {"spec": {"version": "1.1"}},
        ("PromptExperiment", "ab", None): {
            "spec": {"endpoint": "chat", "templateAId": "t1", "templateBId": "t2"}
        },
        ("PromptTemplate", "t1", None): {"spec": {"template": template}},
        ("PromptTemplate", "t2", None): {"spec": {"template": "Be kind."}},
        ("PromptTemplate", "unrelated", None): {"spec": {"template": "x"}},
    }
    if approver:
        docs[("Approval", f"a-{approver}", None)] = {
            "spec": {"modelId": "base@1.0", "approvedBy": approver}
        }
    return docs


def test_footprint_follows_model_approvals_experiments_and_templates() -> None:
    footprint = endpoint_footprint(documents(), "chat")
    assert footprint is not None
    assert (
        footprint["model"]["id"] == "base@1.0"
    )  # the original platform's dashed reference resolves
    assert list(footprint["approvals"]) == ["a-alice"]
    assert sorted(footprint["templates"]) == ["t1", "t2"]
    assert endpoint_footprint(documents(), "other") is None


def test_changes_read_like_a_changelog() -> None:
    def change(**kwargs: Any) -> list[str]:
        before, after = (
            endpoint_footprint(documents(), "chat"),
            endpoint_footprint(documents(**kwargs), "chat"),
        )
        return describe_changes(before, after)

    assert change(max_replicas=5) == ["maxReplicas 3 -> 5"]
    assert change(template="Be very brief.") == [
        "template t1: template Be brief. -> Be very brief."
    ]
    assert change(approver=None) == ["approval by alice removed"]
    assert change(model="base@1.1") == ["model base@1.0 -> base@1.1"]
    assert describe_changes(None, endpoint_footprint(documents(), "chat")) == [
        "endpoint added (model base@1.0)"
    ]
    unrelated = documents()
    unrelated[("PromptTemplate", "unrelated", None)] = {"spec": {"template": "y"}}
    assert (
        describe_changes(
            endpoint_footprint(documents(), "chat"), endpoint_footprint(unrelated, "chat")
        )
        == []
    )
