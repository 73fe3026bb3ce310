"""Did-you-mean hints cost a bounded amount per run, and what a check suggests depends on nothing
but what the check read (its findings are kept in the render cache by exactly that)."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from compiler import spelling
from tests.helpers.estate import copy_bundled_estate, validate, write_files

ENDPOINT_HEAD = """\
apiVersion: llmops.io/v1
kind: ServingEndpoint
metadata:
  name: {name}
spec:
  modelId: {model}
  environment: dev
  route: /llm-ops/v1/serve/{name}
  minReplicas: 1
  maxReplicas: 1
  useGpu: false
"""


@pytest.fixture
def measured(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many full similarity measures the run made (difflib's `ratio`, the costly step)."""
    calls = [0]
    ratio = difflib.SequenceMatcher.ratio

    def counted(self: difflib.SequenceMatcher[str]) -> float:
        calls[0] += 1
        return ratio(self)

    monkeypatch.setattr(difflib.SequenceMatcher, "ratio", counted)
    return calls


def test_many_misspelt_keys_cost_at_most_the_run_s_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, measured: list[int]
) -> None:
    """45,000 near-miss keys (`maxReplica1`, ...) under the 1 MiB limit spent 4 s in suggestions.
    Now the run stops suggesting at its budget, and no diagnostic is lost."""
    monkeypatch.setattr(spelling, "RUN_BUDGET", 20_000)
    estate = copy_bundled_estate(tmp_path)
    keys = "".join(f"  maxReplica{index}: 1\n" for index in range(2000))
    text = ENDPOINT_HEAD.format(name="noisy", model="example-base-model-1.0") + keys
    write_files(estate, {"environments/dev/serving/noisy.yaml": text})

    unknown = [d for d in validate(estate).diagnostics if d.code == "S001"]

    assert len(unknown) == 2000
    hints = [d.hint or "" for d in unknown]
    assert hints[0] == "did you mean `maxReplicas`?"
    assert "did you mean" not in hints[-1] and "maxReplicas" in hints[-1]  # the known fields
    assert measured[0] <= 20_000 // 40  # each measure costs at least 40 units


def _misspelt_references(estate: Path, count: int) -> None:
    write_files(
        estate,
        {
            f"environments/dev/serving/ref-{index}.yaml": ENDPOINT_HEAD.format(
                name=f"ref-{index}", model=f"example-base-model-1.0x{index}"
            )
            for index in range(count)
        },
    )


def _reference_hints(estate: Path) -> list[str]:
    return [d.hint or "" for d in validate(estate).diagnostics if d.code == "R001"]


def test_a_check_s_suggestions_do_not_depend_on_what_others_spent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spelling, "RUN_BUDGET", 2_000)
    quiet = copy_bundled_estate(tmp_path / "quiet")
    _misspelt_references(quiet, 3)
    noisy = copy_bundled_estate(tmp_path / "noisy")
    _misspelt_references(noisy, 3)
    keys = "".join(f"  maxReplica{index}: 1\n" for index in range(300))  # spends the run's
    text = ENDPOINT_HEAD.format(name="noisy", model="example-base-model-1.0") + keys
    write_files(noisy, {"environments/dev/serving/noisy.yaml": text})

    hints = _reference_hints(quiet)
    assert len(hints) == 3 and all("did you mean `example-base-model@1.0`" in h for h in hints)
    assert _reference_hints(noisy) == hints


def test_each_check_stops_suggesting_at_its_own_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, measured: list[int]
) -> None:
    monkeypatch.setattr(spelling, "CHECK_BUDGET", 1_000)
    monkeypatch.setattr("compiler.check.runner.CHECK_BUDGET", 1_000)
    estate = copy_bundled_estate(tmp_path)
    _misspelt_references(estate, 40)

    hints = _reference_hints(estate)

    assert len(hints) == 40
    suggested = [h for h in hints if "did you mean" in h]
    assert suggested and len(suggested) < 40
    assert all("example-base-model" in h for h in hints)  # what the environment has, still
