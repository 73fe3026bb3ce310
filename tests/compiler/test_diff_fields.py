"""Which fields `llmops diff` says changed: values compared as the rendered YAML writes them."""

from __future__ import annotations

from compiler.diff.changes import FieldChange, field_changes


def test_true_and_1_and_2_and_2_0_are_other_values() -> None:
    """Python's `==` took `[1, 2]` for `[true, 2.0]`: the object was listed as changed, with no
    field under it."""
    before = {"metadata": {"annotations": {"team.example.com/limits": "[1, 2]"}}}
    after = {"metadata": {"annotations": {"team.example.com/limits": "[true, 2.0]"}}}
    assert field_changes(before, after) == [
        FieldChange('metadata.annotations["team.example.com/limits"][0]', 1, True),
        FieldChange('metadata.annotations["team.example.com/limits"][1]', 2, 2.0),
    ]
    assert field_changes({"replicas": 1}, {"replicas": True}) == [FieldChange("replicas", 1, True)]


def test_json_text_changed_only_in_its_spacing_is_a_change_of_the_text() -> None:
    before, after = {"data": {"proxy.json": '{"a": 1}'}}, {"data": {"proxy.json": '{"a":1}'}}
    (change,) = field_changes(before, after)
    assert (change.before, change.after) == ('{"a": 1}', '{"a":1}')


def test_a_list_that_grew_lists_the_items_put_in_not_both_lists_whole() -> None:
    """Printed whole and cut at 120 characters, both sides of a grown list of long entries read
    the same."""
    first = {"server": "https://kubernetes.default.svc", "namespace": "llm-ops-dev"}
    second = {"server": "https://kubernetes.default.svc", "namespace": "llm-ops-stg"}
    changed = {"server": "https://kubernetes.default.svc", "namespace": "llm-ops-qa"}
    assert field_changes({"destinations": [first]}, {"destinations": [first, second]}) == [
        FieldChange("destinations[1]", None, second)
    ]
    assert field_changes({"d": [first, second]}, {"d": [second]}) == [
        FieldChange("d[0]", first, None)
    ]
    extra = {"server": "https://kubernetes.default.svc", "namespace": "llm-ops-prod"}
    assert field_changes({"d": [first, second]}, {"d": [changed, second, extra]}) == [
        FieldChange("d[0].namespace", "llm-ops-dev", "llm-ops-qa"),
        FieldChange("d[2]", None, extra),
    ]
