"""A report's cost and size follow what a person can read, not what a hostile file can produce:
each file's text is split once however many diagnostics point into it, a source line is shown as
a bounded window, and the formats read by people show at most SHOWN_PER_FILE diagnostics per file
while their counts stay complete."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from compiler.diagnostics import Diagnostic, Severity
from compiler.positions import Span
from compiler.report.base import ReportContext, get_formatter
from compiler.report.limit import EXCERPT_WIDTH, SHOWN_PER_FILE, excerpt, shown_per_file
from tests.helpers.estate import copy_bundled_estate, run_cli

FILE = "environments/dev/serving/example-model.yaml"


class CountingSources(Mapping[str, str]):
    """File texts that count how often a formatter asks for them."""

    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts
        self.reads = 0

    def __getitem__(self, key: str) -> str:
        self.reads += 1
        return self.texts[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.texts)

    def __len__(self) -> int:
        return len(self.texts)


def _diagnostic(line: int, severity: Severity = Severity.ERROR, column: int = 3) -> Diagnostic:
    return Diagnostic(
        code="S001",
        name="unknown-field",
        severity=severity,
        message=f"unknown field `k{line}` in spec",
        span=Span(FILE, line, column, line, column + 2),
    )


@pytest.mark.parametrize("fmt", ["text", "junit", "github"])
def test_each_file_is_read_once_however_many_diagnostics(fmt: str) -> None:
    sources = CountingSources({FILE: "".join(f"  k{i}: 1\n" for i in range(1, 501))})
    diagnostics = [_diagnostic(line) for line in range(1, 501)]
    get_formatter(fmt)(diagnostics, ReportContext(sources=sources, files_checked=1))
    assert sources.reads <= 1


def test_a_long_line_is_shown_as_a_bounded_window_with_the_caret_in_place() -> None:
    line = "spec: {" + ", ".join(f"k{i}: 1" for i in range(20_000)) + "}"
    column = line.index("k15000") + 1
    shown, at = excerpt(line, column)
    assert len(shown) <= EXCERPT_WIDTH + 2
    assert shown[at - 1 :].startswith("k15000")
    text = get_formatter("text")(
        [
            Diagnostic(
                code="S001",
                name="unknown-field",
                severity=Severity.ERROR,
                message="unknown field `k15000` in spec",
                span=Span(FILE, 1, column, 1, column + 6),
            )
        ],
        ReportContext(sources={FILE: line}, files_checked=1),
    )
    source, caret = text.splitlines()[1:3]
    assert len(source) < EXCERPT_WIDTH + 20
    assert source[caret.index("^") :].startswith("k15000")
    assert caret.count("^") == len("k15000")


def test_errors_are_shown_before_infos_when_a_file_has_too_many() -> None:
    infos = [_diagnostic(line, Severity.INFO) for line in range(1, 301)]
    error = _diagnostic(400)
    shown = shown_per_file([*infos, error])
    assert len(shown.diagnostics) == SHOWN_PER_FILE
    assert error in shown.diagnostics
    assert shown.left_out == {FILE: 301 - SHOWN_PER_FILE}


@pytest.fixture(scope="module")
def many_unknown_fields(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled estate with 3,000 unknown fields in one manifest, 1,000 of them on one line."""
    root = copy_bundled_estate(tmp_path_factory.mktemp("many"))
    path = root / FILE
    flow = "  deploymentSpec: {" + ", ".join(f"f{i}: 1" for i in range(1000)) + "}\n"
    text = path.read_text().replace("  deploymentSpec:", "  oldDeploymentSpec:")
    path.write_text(text + flow + "".join(f"  k{i}: 1\n" for i in range(2000)))
    return root


@pytest.mark.parametrize("fmt", ["text", "github", "junit"])
def test_people_formats_show_a_bounded_number_per_file_and_count_all(
    many_unknown_fields: Path, fmt: str
) -> None:
    result = run_cli("validate", str(many_unknown_fields), "--env", "dev", "--format", fmt)
    assert result.exit_code == 1
    everything = json.loads(
        run_cli("validate", str(many_unknown_fields), "--env", "dev", "--format", "json").stdout
    )
    total = len(everything["diagnostics"])
    assert total > 3000  # json lists all
    left_out = total - SHOWN_PER_FILE
    assert f"{left_out} more diagnostics not shown" in result.stdout
    assert len(result.stdout) < 600 * SHOWN_PER_FILE + 10_000  # not (diagnostics x line length)
    if fmt == "junit":
        failure = ET.fromstring(result.stdout).find(".//failure")
        assert failure is not None and failure.get("message", "").startswith(f"{total} errors")
    else:
        assert f"{total} errors, {left_out} not shown" in result.stdout.splitlines()[-1]
