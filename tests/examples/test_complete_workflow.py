"""The walkthrough in examples/complete_workflow replays the original platform's workflow end to
end, then its CPU-only mode for real (the trainer runs the rendered Job, a CPU model server serves
what it wrote); it must keep working."""

from __future__ import annotations

import json
import re
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
        # the CPU-only mode: the job's model, the lineage, the endpoint
        "llmops-train: support-sft: SFT (full) of tiny-llama@1 on customer-support-dataset@v1.0 "
        "-> s3://models/support-sft/1/",
        "llmops-train: dataset: 8 instruction examples from 1 file(s)",
        "  job       dev/support-sft (SFT, full) trains tiny-llama@1, writes s3://models/support-sft/1/",
        "  approval  not approved: nobody (0 of 1 needed); an approval covers the job and the "
        "dataset too",
        "--model_name=support-chat --backend=huggingface --max_model_len=512 "
        "--model_dir=.sandbox/mnt/models",
    ):
        assert expected in out
    assert "Traceback" not in out + result.stderr
    # trained: the loss fell, and the served answer is the sample's answer to the question asked
    done = re.search(r"llmops-train: done in [0-9.]+ s: 80 steps, loss ([0-9.]+) -> ([0-9.]+)", out)
    assert done is not None, out
    assert float(done[2]) < float(done[1]) / 4, done[0]
    marker = ">>> answer.choices[0].message.content\n"
    answer = json.loads(out[out.index(marker) + len(marker) :].splitlines()[0])
    assert answer.startswith("Order 10423 left our") and "tracking link" in answer, answer
    import git

    repo = git.Repo(keep)
    assert str(repo.head.commit.message).startswith(
        "Roll back ServingEndpoint example-model in dev"
    )
    assert not repo.is_dirty(untracked_files=True)
    assert (keep / "environments/dev/approvals/support-sft-1-admin.yaml").is_file()
    approval = repo.git.log(
        "-1", "--format=%an", "--", "environments/dev/approvals/support-sft-1-admin.yaml"
    )
    assert approval == "admin"
