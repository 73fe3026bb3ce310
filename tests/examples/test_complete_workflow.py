"""The walkthrough in examples/complete_workflow replays the original platform's workflow end to
end; it must keep working."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers.estate import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "examples" / "complete_workflow" / "walkthrough.py"


@pytest.mark.slow
def test_walkthrough_runs_every_step(tmp_path_factory: pytest.TempPathFactory) -> None:
    keep = tmp_path_factory.mktemp("walkthrough") / "repo"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--keep", str(keep)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=PROJECT_ROOT,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    out = result.stdout
    for expected in (
        "$ llmops validate --audit\nno problems",
        "endpoints added: example-model",
        "    maxReplicas 3 -> 5",
        "Rollback-Target: ",
        "walkthrough complete",
        "echo: Hello! Can you help me?",
    ):
        assert expected in out
    assert "Traceback" not in out + result.stderr
    import git

    repo = git.Repo(keep)
    assert str(repo.head.commit.message).startswith(
        "Roll back ServingEndpoint example-model in dev"
    )
    assert not repo.is_dirty(untracked_files=True)
