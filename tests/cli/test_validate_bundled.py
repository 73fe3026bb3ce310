"""The bundled example estate is what a new user runs first: it must validate cleanly."""

from __future__ import annotations

import json

from tests.helpers.estate import PROJECT_ROOT, run_cli


def test_bundled_estate_validates_with_exit_0() -> None:
    result = run_cli("validate", str(PROJECT_ROOT))
    assert result.exit_code == 0, result.stdout
    assert "no problems" in result.stdout
    assert "environments: dev, prod, stg" in result.stdout


def test_bundled_estate_json_has_no_diagnostics() -> None:
    result = run_cli("validate", str(PROJECT_ROOT), "--format", "json")
    document = json.loads(result.stdout)
    assert document["diagnostics"] == []
    assert document["summary"]["errors"] == 0
    assert document["summary"]["files"] >= 10
