"""Variant assignment is sticky per user and follows the allocation; templates are applied as the
system prompt; statistics stay bounded."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from llmops.proxy.config import Experiment, Template
from llmops.proxy.experiments import (
    LATENCY_WINDOW,
    VariantStats,
    apply_template,
    assign_variant,
    render_template,
)


def _experiment(allocation: int) -> Experiment:
    return Experiment.model_validate(
        {
            "id": "tone",
            "templateAId": "a",
            "templateBId": "b",
            "allocation": allocation,
            "metric": "latency_ms",
        }
    )


@pytest.mark.parametrize(
    ("allocation", "low", "high"), [(0, 0, 0), (100, 2000, 2000), (50, 900, 1100), (20, 320, 480)]
)
def test_allocation_is_the_share_of_users_getting_a(allocation: int, low: int, high: int) -> None:
    experiment = _experiment(allocation)
    got_a = sum(assign_variant(experiment, f"user-{n}") == "A" for n in range(2000))
    assert low <= got_a <= high


def test_assignment_is_sticky_and_per_experiment() -> None:
    first, other = (
        _experiment(50),
        Experiment.model_validate(
            {
                "id": "other",
                "templateAId": "a",
                "templateBId": "b",
                "allocation": 50,
                "metric": "latency_ms",
            }
        ),
    )
    users = [f"user-{n}" for n in range(200)]
    here = [assign_variant(first, u) for u in users]
    # Every proxy replica (another process, another hash seed) must put a user in the same variant.
    program = (
        "import json, sys; from llmops.proxy.config import Experiment; "
        "from llmops.proxy.experiments import assign_variant; "
        "e = Experiment.model_validate(json.loads(sys.argv[1])); "
        "print(json.dumps([assign_variant(e, u) for u in json.loads(sys.argv[2])]))"
    )
    other_process = subprocess.run(
        [sys.executable, "-c", program, first.model_dump_json(by_alias=True), json.dumps(users)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert json.loads(other_process.stdout) == here
    assert [assign_variant(first, u) for u in users] != [assign_variant(other, u) for u in users]


def test_template_placeholders_are_filled() -> None:
    template = Template.model_validate(
        {
            "name": "t",
            "template": "Help {{ company }} and {{company}}.\n",
            "variables": {"company": "Acme"},
        }
    )
    assert render_template(template) == "Help Acme and Acme."


def test_chat_template_merges_into_the_leading_system_message() -> None:
    body = {
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    }
    apply_template("chat", body, "You are support.")
    assert body["messages"] == [
        {"role": "system", "content": "You are support.\n\nBe brief."},
        {"role": "user", "content": "hi"},
    ]
    body = {"messages": [{"role": "user", "content": "hi"}]}
    apply_template("chat", body, "You are support.")
    assert body["messages"][0] == {"role": "system", "content": "You are support."}


def test_completion_template_goes_before_the_prompt() -> None:
    body = {"prompt": "Our platform is"}
    apply_template("completion", body, "Answer formally.")
    assert body["prompt"] == "Answer formally.\n\nOur platform is"


def test_latency_window_is_bounded() -> None:
    stats = VariantStats("a")
    for n in range(LATENCY_WINDOW + 500):
        stats.record(n / 1000, failed=n % 10 == 0, output_tokens=2)
    snapshot = stats.snapshot()
    assert len(stats.latencies) == LATENCY_WINDOW
    assert snapshot["requests"] == LATENCY_WINDOW + 500
    assert snapshot["errors"] == (LATENCY_WINDOW + 500 + 9) // 10
    assert snapshot["outputTokens"] == 2 * (LATENCY_WINDOW + 500)
