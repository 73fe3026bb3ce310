"""The shipped GitHub Actions example only runs llmops commands that exist, with options that
parse."""

from __future__ import annotations

import re
import shlex

import yaml

from llmops.cli.main import parse_arguments
from tests.helpers.estate import PROJECT_ROOT

WORKFLOW = PROJECT_ROOT / "examples" / "ci" / "llmops-pull-request.yml"


def llmops_commands() -> list[list[str]]:
    steps = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["review"]["steps"]
    commands = []
    for step in steps:
        for line in str(step.get("run", "")).splitlines():
            line = re.sub(r"\$\{\{[^}]*\}\}", "main", line.split(" > ")[0].split(" || ")[0]).strip()
            if line.startswith("llmops "):
                commands.append(shlex.split(line)[1:])
    return commands


def test_workflow_runs_validate_render_check_and_diff() -> None:
    commands = llmops_commands()
    assert [command[0] for command in commands] == ["validate", "validate", "render", "diff"]
    for command in commands:
        parse_arguments(command)  # raises SystemExit on an unknown command or option
    assert commands[1][1:4] == ["--audit", "--format", "sarif"] and "--audit" in commands[0]
    assert "--check" in commands[2] and "markdown" in commands[3]


def test_workflow_installs_llmops_from_its_source_and_lock() -> None:
    """`pip install llmops` would install the unrelated project of that name on PyPI: the workflow
    checks out the team's llmops and installs it with the lock files that exist in this project."""
    steps = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["review"]["steps"]
    source = next(
        step["with"]["path"]
        for step in steps
        if step.get("uses", "").startswith("actions/checkout") and "repository" in step["with"]
    )
    install = next(step["run"] for step in steps if step.get("name") == "Install llmops")
    words = shlex.split(install.replace("\\\n", " "))
    locks = [words[i + 1] for i, word in enumerate(words) if word == "-r"]
    assert locks == [f"{source}/requirements/build.txt", f"{source}/requirements/run.txt"]
    for lock in locks:
        assert (PROJECT_ROOT / lock.removeprefix(f"{source}/")).is_file(), lock
    assert "--require-hashes" in words and f"./{source}" in words
    for step in steps:
        for line in str(step.get("run", "")).splitlines():
            assert not re.search(r"pip install\s+['\"]?llmops\b", line), line
