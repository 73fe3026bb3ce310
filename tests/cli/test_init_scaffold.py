"""`llmops init`: the new estate is consistent, passes validate and the approval audit on its first
commit, and its README's steps to serve the model work (with the real git binary, as a user would
commit)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from compiler.capacity.presets import PRESETS, presets_matching
from compiler.spec.model import parameter_count
from llmops import scaffold
from tests.helpers.estate import run_cli

PEOPLE = {"alice": "Alice Author", "bob": "Bob Approver", "carol": "Carol Approver"}


def git(root: Path, *args: str, who: str = "alice") -> str:
    identity = [
        "-c",
        f"user.name={PEOPLE[who]}",
        "-c",
        f"user.email={who}@example.com",
        "-c",
        "commit.gpgsign=false",
    ]
    done = subprocess.run(
        ["git", *identity, *args], cwd=root, capture_output=True, text=True, check=True
    )
    return done.stdout


def commit_everything(root: Path, message: str, who: str) -> None:
    git(root, "add", "-A", who=who)
    git(root, "commit", "-q", "-m", message, who=who)


def test_the_scaffold_models_written_facts_agree_with_its_preset() -> None:
    """`parameters: 7B` with `preset: llama-3-8b` (8.03B) contradicted itself; llama and the written
    size must match the named preset, and so must the written context."""
    (model,) = scaffold.shared_manifests()["models/my-model.yaml"]
    meta = model["spec"]["metadata"]
    preset = PRESETS[meta["preset"]]
    assert preset in presets_matching(meta["model_family"], parameter_count(meta["parameters"]))
    assert meta["context_length"] == preset.context_length


def test_a_fresh_estate_passes_validate_and_its_own_audit_on_the_first_commit(
    tmp_path: Path,
) -> None:
    root = tmp_path / "estate"
    assert run_cli("init", str(root)).exit_code == 0
    git(root, "init", "-q", "-b", "main")
    commit_everything(root, "llmops init", "alice")
    result = run_cli("audit", str(root))
    assert (result.exit_code, result.stdout) == (
        0,
        "no problems (4 files, environments: dev, prod, stg)\n",
    )
    assert git(root, "status", "--porcelain") == ""


def test_the_readmes_steps_serve_the_model_and_keep_the_audit_passing(tmp_path: Path) -> None:
    """Step 2 copies the example endpoints; step 3 has someone other than the model's author approve
    and commit (prod needs two); then validate and audit pass, and the endpoints render."""
    root = tmp_path / "estate"
    assert run_cli("init", str(root)).exit_code == 0
    readme = (root / "environments" / "README.md").read_text(encoding="utf-8")
    step = re.search(r"^2\. Add the endpoint: `([^`]+)`", readme, re.MULTILINE)
    assert step is not None and "_examples/dev/serving" in step.group(1)
    git(root, "init", "-q", "-b", "main")
    commit_everything(root, "llmops init", "alice")
    for env in scaffold.ENVIRONMENTS:  # the step as written, run by a shell in the estate
        command = step.group(1).replace("/dev/", f"/{env}/")
        subprocess.run(["sh", "-c", command], cwd=root, check=True)
    commit_everything(root, "serve my-model", "alice")
    approvers = {"dev": ["bob"], "stg": ["bob"], "prod": ["bob", "carol"]}
    for env, people in approvers.items():
        for person in people:
            approved = run_cli(
                "approve",
                "my-model@1.0",
                "--env",
                env,
                "--by",
                person,
                "--role",
                "admin",
                str(root),
            )
            assert approved.exit_code == 0, approved.stderr
            commit_everything(root, f"approve my-model@1.0 in {env}", person)
    result = run_cli("audit", str(root))
    assert (result.exit_code, result.stdout) == (
        0,
        "no problems (11 files, environments: dev, prod, stg)\n",
    )
    rendered = run_cli("render", str(root))
    assert rendered.exit_code == 0 and rendered.stdout.count("kind: InferenceService\n") == 3


def test_an_approval_by_the_models_author_is_what_the_audit_refuses(tmp_path: Path) -> None:
    """Why init writes no approval: one committed with the model, by its author, fails G001 or
    G002."""
    root = tmp_path / "estate"
    assert run_cli("init", str(root)).exit_code == 0
    git(root, "init", "-q", "-b", "main")
    assert (
        run_cli(
            "approve", "my-model@1.0", "--env", "dev", "--by", "alice", "--role", "admin", str(root)
        ).exit_code
        == 0
    )
    commit_everything(root, "llmops init, approved by its author", "alice")
    result = run_cli("audit", str(root))
    assert result.exit_code == 1 and "error[G002]" in result.stdout
