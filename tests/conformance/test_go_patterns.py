"""Schema patterns are matched as the API server matches them: Go's `$` is the end of the text, so a
value with a final newline is refused where Python's `$` would let it through."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from llmops.conformance.go_regex import python_pattern, search
from llmops.conformance.verify import check_text
from tests.helpers.conformance import catalog
from tests.helpers.estate import PROJECT_ROOT


@pytest.mark.parametrize(
    ("pattern", "translated"),
    [
        (r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z"),
        (r"^[A-Za-z0-9!#$%&*+\-.^_|~]+$", r"^[A-Za-z0-9!#$%&*+\-.^_|~]+\Z"),  # `$` in a class
        (r"^$|^[a-z]+$", r"^\Z|^[a-z]+\Z"),
        (r"(^\*$)|(^x$)", r"(^\*\Z)|(^x\Z)"),
        (r"^[]$]+$", r"^[]$]+\Z"),  # `]` first in a class is a member
        (r"^[^]$]+$", r"^[^]$]+\Z"),
        (r"^a\$$", r"^a\$\Z"),  # an escaped `$` is a dollar sign
        (r"^.{2,}|[^./]$", r"^.{2,}|[^./]\Z"),
    ],
)
def test_dollar_becomes_the_end_of_the_text(pattern: str, translated: str) -> None:
    assert python_pattern(pattern) == translated


def _vendored_patterns() -> list[str]:
    """Every distinct `pattern` of the vendored CRDs that ends at the end of the text (`$`)."""
    found: set[str] = set()
    for path in sorted((PROJECT_ROOT / "conformance" / "crds").rglob("*.yaml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            key, _, value = line.strip().partition(": ")
            pattern = str(yaml.safe_load(value)) if key == "pattern" and value else ""
            if pattern.endswith("$") and not pattern.endswith("\\$"):
                found.add(pattern)
    return sorted(found)


VENDORED = _vendored_patterns()


def test_the_vendored_crds_have_patterns_to_judge() -> None:
    assert len(VENDORED) >= 10


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(VENDORED), st.text(alphabet="aZ09-._/:*$ \t", max_size=12))
def test_a_final_newline_only_passes_a_pattern_that_can_match_a_newline(
    pattern: str, text: str
) -> None:
    """A value that matches, plus "\\n", still matches only where the pattern itself could match a
    newline character (`[^./]`, `.` is not one in Go without `s`); never through `$`."""
    if not search(pattern, text):
        return
    with_newline = search(pattern, text + "\n")
    newline_matchable = re.search(python_pattern(pattern).replace(r"\Z", ""), "\n") is not None
    assert not with_newline or newline_matchable, (pattern, text)


def _inference_service(cpu: str) -> str:
    return json.dumps(
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {"name": "m", "namespace": "n"},
            "spec": {
                "predictor": {
                    "model": {
                        "modelFormat": {"name": "x"},
                        "resources": {"limits": {"cpu": cpu}, "requests": {"memory": "1Gi"}},
                    }
                }
            },
        },
        indent=1,
    )


@pytest.mark.parametrize("cpu", ["1\n", "500m\n", "2Gi\n", "1\r\n"])
def test_a_quantity_with_a_final_newline_is_refused_at_its_line(cpu: str) -> None:
    text = _inference_service(cpu)
    _, diagnostics = check_text("isvc.yaml", text, catalog())
    line = 1 + text.split('"cpu"')[0].count("\n")
    assert [(d.code, d.span.line) for d in diagnostics] == [("V004", line)], diagnostics
    assert "spec.predictor.model.resources.limits.cpu" in diagnostics[0].message


def test_the_same_quantity_without_the_newline_conforms() -> None:
    _, diagnostics = check_text("isvc.yaml", _inference_service("500m"), catalog())
    assert diagnostics == []


def test_conform_command_refuses_it(tmp_path: Path) -> None:
    from tests.helpers.estate import run_cli

    (tmp_path / "isvc.yaml").write_text(_inference_service("1\n"), encoding="utf-8")
    result = run_cli("conform", str(tmp_path / "isvc.yaml"))
    assert result.exit_code == 1, result
    assert "V004" in result.stdout + result.stderr
