"""The one path formatter (diagnostics, `llmops diff`, `llmops status` drift) and the one "did you
mean" helper (unknown fields, enum values, kinds, presets, GPU products, upstream CRD fields)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from compiler.positions import child_path, format_path
from compiler.spelling import CUTOFF, close_match, closest_name, suggestion_budget


def test_paths_read_the_way_users_write_them() -> None:
    assert format_path(("spec", "deploymentSpec", "resources", 0)) == (
        "spec.deploymentSpec.resources[0]"
    )
    assert format_path(()) == ""
    assert format_path((0, "name")) == "[0].name"
    assert child_path("", "spec") == "spec"
    assert child_path("spec", "min_replicas") == "spec.min_replicas"
    assert child_path("spec.args", 0) == "spec.args[0]"
    assert child_path("spec", "max-model-len") == "spec.max-model-len"


def test_a_key_that_is_no_plain_name_is_quoted_and_escaped() -> None:
    assert child_path("metadata.labels", "llmops.io/model") == 'metadata.labels["llmops.io/model"]'
    assert child_path("data", "proxy.json") == 'data["proxy.json"]'
    assert child_path("metadata.labels", 'odd"key') == 'metadata.labels["odd\\"key"]'
    assert child_path("x", "back\\slash") == 'x["back\\\\slash"]'
    assert child_path("x", "") == 'x[""]'
    assert child_path("x", "2fast") == 'x["2fast"]'
    assert format_path(("metadata", "annotations", "a b")) == 'metadata.annotations["a b"]'


@given(st.lists(st.text(max_size=6) | st.integers(0, 99), max_size=5))
def test_format_path_is_child_path_step_by_step(path: list[str | int]) -> None:
    expected = ""
    for segment in path:
        expected = child_path(expected, segment)
    assert format_path(tuple(path)) == expected


def test_a_misspelled_name_finds_what_it_meant() -> None:
    assert closest_name("min_replica", ["min_replicas", "minReplicas", "max_replicas"]) == (
        "min_replicas"
    )
    assert closest_name("ServingEndpont", ["Model", "ServingEndpoint", "Dataset"]) == (
        "ServingEndpoint"
    )
    assert closest_name("Approved", ["approved", "rejected"]) == "approved"


def test_case_underscores_and_dashes_are_ignored_first() -> None:
    assert closest_name("a100-80gb", ["A100-40GB", "A100-80GB"]) == "A100-80GB"
    assert closest_name("storageuri", ["storageUri", "storage"]) == "storageUri"
    # of two spellings of one field, the one closer to what was written
    assert closest_name("OwnerTeam", ["owner_team", "ownerTeam"]) == "ownerTeam"
    assert closest_name("owner-team", ["ownerTeam", "owner_team"]) == "owner_team"


def test_nothing_close_is_no_suggestion() -> None:
    assert closest_name("xyz", ["ServingEndpoint", "Model"]) is None
    assert closest_name("", ["a"]) is None
    assert closest_name("anything", []) is None


_NAMES = st.text(alphabet="abcdeAB_-1", max_size=8)


@given(word=_NAMES, choices=st.lists(_NAMES, max_size=12))
def test_close_match_answers_as_difflib_does(word: str, choices: list[str]) -> None:
    """The budgeted search finds what `difflib.get_close_matches(..., n=1)` finds, ties
    included (the greatest name of equal ratios), with and without a run's budget."""
    import difflib

    expected = difflib.get_close_matches(word, choices, n=1, cutoff=CUTOFF)
    assert close_match(word, choices) == (expected[0] if expected else None)
    with suggestion_budget():
        assert close_match(word, choices) == (expected[0] if expected else None)


def test_a_run_stops_suggesting_once_its_budget_is_spent() -> None:
    """Past the budget a hint offers no name, every later question too (a stable cut), even one
    answered before: an answer found again costs what working it out did, so what is suggested
    never depends on what was asked before."""
    catalog = [f"model-{index:04d}" for index in range(200)]
    with suggestion_budget(60_000):
        first = close_match("model-0007x", catalog)
        assert first == "model-0007"
        answers = [close_match(f"model-{index:04d}x", catalog) for index in range(10, 100)]
        assert answers[0] == "model-0010" and answers[-1] is None
        spent = answers.index(None)
        assert all(answer is None for answer in answers[spent:])
        assert close_match("model-0007x", catalog) is None
    # a new run has a budget of its own
    with suggestion_budget(60_000):
        assert close_match("model-0099x", catalog) == "model-0099"


def test_suggestions_outside_a_run_have_no_budget() -> None:
    catalog = [f"model-{index:04d}" for index in range(50)]
    assert all(close_match(f"model-{i:04d}x", catalog) == f"model-{i:04d}" for i in range(50))


def test_an_answer_found_again_costs_what_working_it_out_did() -> None:
    """Within a run, a check's budget gives the same suggestions whether or not another check
    asked the same question first (the render cache keeps each check's findings on their own)."""
    catalog = [f"model-{index:04d}" for index in range(200)]
    questions = [f"model-{index:04d}x" for index in range(30)]

    def asked_in_a_check_of_its_own(first: list[str]) -> list[str | None]:
        with suggestion_budget():
            with suggestion_budget(20_000):
                for question in first:
                    close_match(question, catalog)
            with suggestion_budget(40_000):
                return [close_match(question, catalog) for question in questions]

    alone = asked_in_a_check_of_its_own([])
    assert alone[0] == "model-0000" and alone[-1] is None
    assert asked_in_a_check_of_its_own(questions) == alone
