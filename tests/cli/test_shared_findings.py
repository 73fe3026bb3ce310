"""A file under environments/_shared/ is checked in every environment, each with its own
settings: a finding there says in which environments it was found."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.estate import run_cli

SHARED = "environments/_shared/serving/my-model.yaml"


def shared_cpu_endpoint(tmp_path: Path) -> Path:
    """An estate from `llmops init` whose example CPU endpoint is shared by dev, stg and prod."""
    root = tmp_path / "estate"
    assert run_cli("init", str(root)).exit_code == 0
    example = (root / "environments/_examples/dev/serving/my-model.yaml").read_text()
    (root / SHARED).parent.mkdir(parents=True)
    (root / SHARED).write_text(
        "".join(line for line in example.splitlines(True) if "environment: dev" not in line)
    )
    return root


def test_a_finding_in_a_shared_file_names_its_environments(tmp_path: Path) -> None:
    root = shared_cpu_endpoint(tmp_path)
    document = json.loads(run_cli("validate", str(root), "--format", "json").stdout)
    found = {d["code"]: d["environments"] for d in document["diagnostics"] if d["file"] == SHARED}
    # an 8B model on CPU is worth a warning only where GPUs are allowed: stg and prod, not dev
    assert found["C007"] == ["prod", "stg"]
    assert found["P009"] == ["prod"]  # prod requires GPUs
    text = run_cli("validate", str(root)).stdout
    block = next(b for b in text.split("\n\n") if "warning[C007]" in b)
    assert "  found in: prod, stg (a shared file is checked in each environment)" in block


def test_a_finding_in_an_environments_own_file_needs_no_such_line(tmp_path: Path) -> None:
    root = shared_cpu_endpoint(tmp_path)
    (root / SHARED).unlink()
    example = root / "environments/_examples/prod/serving/my-model.yaml"
    (root / "environments/prod/serving").mkdir(parents=True, exist_ok=True)
    (root / "environments/prod/serving/my-model.yaml").write_text(
        example.read_text().replace("minReplicas: 2", "minReplicas: 1")
    )
    result = run_cli("validate", str(root))
    assert "error[P010]" in result.stdout and "found in:" not in result.stdout
    document = json.loads(run_cli("validate", str(root), "--format", "json").stdout)
    assert all(d["environments"] == [] for d in document["diagnostics"])
