"""Every rule has a failing and a passing fixture; the failing one's full text output is a snapshot.

Layout: ``tests/fixtures/rules/<CODE>/{bad,good}/`` is a repository root (``environments/...`` plus
any data files). ``bad/expected.txt`` is the exact ``llmops validate --format text`` output. A
fixture may hold ``generate.py`` with ``generate(root: Path) -> None`` to create what git should not
store (a 2 MiB file, a link leaving the repository, a git history for the audit rules), and
``ARGS``, extra ``validate`` arguments (``--audit``). Regenerate snapshots explicitly with
``LLMOPS_UPDATE_SNAPSHOTS=1 pytest tests/compiler/check/test_rule_fixtures.py``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

from compiler.check.registry import ALL_RULES, RULES_BY_CODE
from compiler.diagnostics import Severity
from tests.helpers.estate import run_cli

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "rules"
# not part of the repository a fixture stands for; `__pycache__` is what importing generate.py
# leaves beside it when Python writes bytecode
SPECIAL_FILES = {"expected.txt", "generate.py", "__pycache__"}
CODES = [rule.code for rule in ALL_RULES]


def materialize(fixture: Path, destination: Path) -> tuple[str, ...]:
    """Copy a fixture to a private directory and run its generate.py there; the `validate`
    arguments."""
    root = destination / "repo"
    shutil.copytree(
        fixture, root, ignore=lambda _dir, names: [n for n in names if n in SPECIAL_FILES]
    )
    generator = fixture / "generate.py"
    if generator.exists():
        spec = importlib.util.spec_from_file_location(
            f"fixture_{fixture.parent.name}_{fixture.name}", generator
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.generate(root)
        return (str(root), *getattr(module, "ARGS", ()))
    return (str(root),)


def test_every_rule_has_both_fixtures_and_every_fixture_names_a_rule() -> None:
    present = {path.name for path in FIXTURES.iterdir() if path.is_dir()}
    assert sorted(present - set(RULES_BY_CODE)) == [], (
        "fixture directories for codes that do not exist"
    )
    missing = [
        code
        for code in CODES
        if not ((FIXTURES / code / "bad").is_dir() and (FIXTURES / code / "good").is_dir())
    ]
    assert missing == [], f"rules without bad/ and good/ fixtures: {missing}"


@pytest.mark.parametrize("code", CODES)
def test_bad_fixture_reports_the_rule(code: str, tmp_path: Path) -> None:
    fixture = FIXTURES / code / "bad"
    if not fixture.is_dir():
        pytest.fail(f"no fixture {fixture}")
    args = materialize(fixture, tmp_path)
    result = run_cli("validate", *args)
    rule = RULES_BY_CODE[code]
    assert f"{rule.severity.value}[{code}]" in result.stdout, result.stdout
    assert result.stderr == ""
    has_errors = ": error[" in result.stdout
    assert result.exit_code == (1 if has_errors else 0), result.stdout
    if rule.severity is Severity.WARNING:  # a warning alone passes, unless warnings are errors
        assert not has_errors, (
            f"the bad fixture of a warning shows only the warning:\n{result.stdout}"
        )
        strict = run_cli("validate", *args, "--warnings-as-errors")
        assert (strict.exit_code, f"error[{code}]" in strict.stdout) == (1, True), strict.stdout
    expected = fixture / "expected.txt"
    if os.environ.get("LLMOPS_UPDATE_SNAPSHOTS"):
        expected.write_text(result.stdout, encoding="utf-8")
    assert expected.exists(), (
        f"missing snapshot {expected}; set LLMOPS_UPDATE_SNAPSHOTS=1 to create it"
    )
    assert result.stdout == expected.read_text(encoding="utf-8")


@pytest.mark.parametrize("code", CODES)
def test_good_fixture_is_clean(code: str, tmp_path: Path) -> None:
    fixture = FIXTURES / code / "good"
    if not fixture.is_dir():
        pytest.fail(f"no fixture {fixture}")
    result = run_cli("validate", *materialize(fixture, tmp_path))
    assert result.exit_code == 0, result.stdout
    assert "no problems" in result.stdout, result.stdout
