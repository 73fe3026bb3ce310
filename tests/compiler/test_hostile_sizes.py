"""Inputs within the documented limits that once took minutes: each is validated here in a process
of its own with a time limit far above what it takes now (about a second), so a regression fails
on the limit instead of hanging the suite. Speed itself is measured in benchmarks/, not here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.estate import (
    PROJECT_ROOT,
    copy_bundled_estate,
    environment_settings,
    write_files,
)

pytestmark = pytest.mark.slow
ENVIRONMENT = environment_settings()


def _validate_within(root: Path, seconds: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmops.cli.main", "validate", "--format", "json", str(root)],
        capture_output=True,
        text=True,
        timeout=seconds,
        cwd=PROJECT_ROOT,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "LLMOPS_CACHE_DIR": "off"},
    )


def test_thousands_of_undeclared_placeholders_are_located_in_one_pass(tmp_path: Path) -> None:
    """A `_shared` template with 30,000 undeclared `{{ vN }}`, one per line, checked in three
    environments: a search per name from the template's start took 38 s for 20,000 in one."""
    estate = copy_bundled_estate(tmp_path)
    lines = "".join(f"    {{{{ v{index} }}}}\n" for index in range(30_000))
    template = (
        "apiVersion: llmops.io/v1\nkind: PromptTemplate\nmetadata:\n  name: many\n"
        f'spec:\n  version: "1"\n  template: |\n{lines}'
    )
    write_files(estate, {"environments/_shared/prompts/many.yaml": template})

    done = _validate_within(estate, 60)

    assert done.returncode == 1, done.stderr
    found = [d for d in json.loads(done.stdout)["diagnostics"] if d["code"] == "X003"]
    assert len(found) == 30_000  # one per placeholder, for all environments
    # each at its own line (the template's text starts on line 8)
    assert sorted(d["line"] for d in found) == list(range(8, 8 + 30_000))


def test_a_line_of_many_hashes_inside_tokens_is_scanned_once(tmp_path: Path) -> None:
    """A file with a suppression comment is scanned for comments; each `#` inside a token was
    tested against every token of its line: a 60 KB line of `a#` items took 19 s, a 180 KB one
    minutes."""
    items = ",".join(["a#"] * 60_000)
    write_files(
        tmp_path,
        {
            "environments/dev/environment.yaml": ENVIRONMENT,
            "environments/dev/t.yaml": "# llmops: ignore[S001] not a field\n"
            "apiVersion: llmops.io/v1\nkind: PromptTemplate\nmetadata:\n  name: t\n"
            f'spec:\n  version: "1"\n  template: "hi"\n  junk: [{items}]\n',
        },
    )

    done = _validate_within(tmp_path, 60)

    assert done.returncode == 1, done.stderr
    codes = [d["code"] for d in json.loads(done.stdout)["diagnostics"]]
    assert "S001" in codes  # `junk`, read whole
    assert "L005" in codes  # the comment was found and read: S001 cannot be suppressed


def test_an_endpoint_s_approval_message_names_a_few_problems_and_counts_the_rest(
    tmp_path: Path,
) -> None:
    """5,000 stale approvals of one model made each of its endpoints' P001 messages name all of
    them (12 s, 2 GB; 1.5 GB of JSON). The state is worked out once per model, and the message
    names five problems and counts the rest (P002 reports each approval)."""
    from compiler.load.tree import DirectoryTree
    from compiler.pipeline import validate_repository

    estate = copy_bundled_estate(tmp_path)
    approvals = estate / "environments" / "dev" / "approvals"
    for path in approvals.iterdir():
        path.unlink()
    rejected = "".join(
        f"---\napiVersion: llmops.io/v1\nkind: Approval\nmetadata:\n  name: no-{index}\n"
        f"spec:\n  modelId: example-base-model@1.0\n  status: rejected\n"
        f"  approvedBy: person-{index:02d}\n  role: admin\n  modelDigest: sha256:{'0' * 64}\n"
        for index in range(7)
    )
    write_files(estate, {"environments/dev/approvals/rejected.yaml": rejected})

    result = validate_repository(DirectoryTree(estate), "dev")

    (unapproved,) = [d for d in result.diagnostics if d.code == "P001"]
    assert "person-00 rejected it" in unapproved.message
    assert "person-04 rejected it; and 2 more" in unapproved.message
    assert "person-05" not in unapproved.message
