"""The installed `llmops` program as a shell runs it (the console script in the virtualenv, not the
click group called in-process): version, completion, environment defaults, usage errors, Ctrl-C,
and what it imports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_imports import FORBIDDEN
from tests.helpers.estate import copy_bundled_estate
from tests.helpers.kube_api import KubeApiServer
from tests.helpers.signals import ctrl_c_reaches_it
from tests.status.conftest import Rendered, deploy_healthy

pytestmark = pytest.mark.slow  # every test starts the program

LLMOPS = Path(sys.executable).with_name("llmops")
VARIABLES = ("LLMOPS_ENV", "LLMOPS_REPO", "LLMOPS_FORMAT", "LLMOPS_DEBUG", "_LLMOPS_COMPLETE")


def llmops(
    *argv: str, cwd: Path, env: dict[str, str] | None = None, python_flags: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """`llmops ARGV` in `cwd`, with none of llmops's variables set but those in `env`."""
    environ = {key: value for key, value in os.environ.items() if key not in VARIABLES}
    command = [sys.executable, *python_flags, str(LLMOPS)] if python_flags else [str(LLMOPS)]
    return subprocess.run(
        [*command, *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**environ, "NO_COLOR": "1", **(env or {})},
        timeout=120,
    )


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    return copy_bundled_estate(tmp_path / "estate")


def test_the_console_script_is_installed() -> None:
    assert LLMOPS.is_file(), f"no {LLMOPS}: install llmops into this virtualenv (make test does)"


def test_version(tmp_path: Path) -> None:
    from llmops import __version__

    result = llmops("--version", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, f"llmops {__version__}\n", "")


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script(shell: str, tmp_path: Path) -> None:
    """What the README tells users to put in their shell's start-up file."""
    result = llmops(cwd=tmp_path, env={"_LLMOPS_COMPLETE": f"{shell}_source"})
    assert result.returncode == 0, result.stderr
    # the script calls the program back with the shell's completion instruction
    assert f"_LLMOPS_COMPLETE={shell}_complete" in result.stdout
    assert result.stderr == ""


def complete(words: str, cwd: Path) -> list[str]:
    """What bash is offered for the last word of `words` (bash's protocol: COMP_WORDS, COMP_CWORD;
    the answer is one `type,value` line per completion)."""
    split = words.split(" ")
    result = llmops(
        cwd=cwd,
        env={
            "_LLMOPS_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(split) - 1),
        },
    )
    assert result.returncode == 0, result.stderr
    return [line.split(",", 1)[1] for line in result.stdout.splitlines()]


def test_completion_of_commands_environments_and_endpoints(estate: Path) -> None:
    (estate / "environments" / "qa").mkdir()  # read from the estate, not a fixed list
    assert complete("llmops va", estate) == ["validate"]
    assert complete("llmops validate --env ", estate) == ["dev", "prod", "qa", "stg"]
    assert complete("llmops validate --env s", estate) == ["stg"]
    assert complete("llmops explain --env dev ", estate) == ["example-model"]
    assert complete("llmops status --wat", estate) == ["--watch"]


def test_environment_variables_give_defaults(estate: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    only_dev = llmops("validate", cwd=estate, env={"LLMOPS_ENV": "dev"})
    assert (only_dev.returncode, only_dev.stdout) == (
        0,
        "no problems (7 files, environments: dev)\n",
    )
    from_anywhere = llmops(
        "validate", cwd=elsewhere, env={"LLMOPS_REPO": str(estate), "LLMOPS_FORMAT": "json"}
    )
    assert from_anywhere.returncode == 0, from_anywhere.stderr
    assert json.loads(from_anywhere.stdout)["diagnostics"] == []
    given = llmops("validate", "--env", "prod", cwd=estate, env={"LLMOPS_ENV": "qa"})
    assert given.stdout == "no problems (7 files, environments: prod)\n", "the option wins"
    documented = " ".join(llmops("validate", "--help", cwd=estate).stdout.split())
    assert "only this environment (plus _shared) [env var: LLMOPS_ENV]" in documented
    assert "[env var: LLMOPS_FORMAT; default: text]" in documented
    assert "default: $LLMOPS_REPO" in documented


@pytest.mark.parametrize(
    ("command", "variables"),
    [
        (("render",), ("LLMOPS_ENV", "LLMOPS_REPO", "LLMOPS_CACHE_DIR", "LLMOPS_CACHE_MAX_MB")),
        (("cmp",), ("ARGOCD_ENV_LLMOPS_ENV", "LLMOPS_CACHE_DIR", "LLMOPS_CACHE_MAX_MB")),
        (  # the list of every command's variables
            (),
            ("LLMOPS_ENV", "LLMOPS_REPO", "LLMOPS_FORMAT", "LLMOPS_SERVER", "LLMOPS_CACHE_DIR"),
        ),
    ],
)
def test_help_names_every_variable_the_command_reads(
    estate: Path, command: tuple[str, ...], variables: tuple[str, ...]
) -> None:
    """The README sends people to `--help` for the variables: a variable read and not named there
    cannot be found (the render cache's directory was not)."""
    documented = llmops(*command, "--help", cwd=estate).stdout
    assert [name for name in variables if name not in documented] == []


def test_a_usage_error_is_one_line_and_exit_2(estate: Path) -> None:
    result = llmops("validate", "--format", "yaml", cwd=estate)
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("llmops validate: error: invalid value for '--format'")
    assert "'yaml' is not one of 'text', 'json', 'github', 'sarif', 'junit'" in line
    assert line.endswith("(usage: llmops validate [OPTIONS] [REPO])")
    unknown = llmops("frobnicate", cwd=estate)
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("llmops: error: no such command 'frobnicate'")
    assert len(unknown.stderr.splitlines()) == 1


def test_an_error_in_the_estate_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = llmops("validate", str(tmp_path / "nope"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"llmops: error: `{tmp_path / 'nope'}` is not a directory\n"


def test_ctrl_c_exits_130(estate: Path, tmp_path: Path) -> None:
    rendered = Rendered(estate)
    with KubeApiServer().running() as cluster:
        deploy_healthy(cluster, rendered)
        kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig")
        environ = {key: value for key, value in os.environ.items() if key not in VARIABLES}
        process = subprocess.Popen(
            [str(LLMOPS), "status", "--kubeconfig", str(kubeconfig), "--watch", "-o", "json"],
            cwd=estate,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**environ, "NO_COLOR": "1"},
            preexec_fn=ctrl_c_reaches_it,
        )
        try:
            assert process.stdout is not None
            assert json.loads(process.stdout.readline())["summary"]["failing"] is False
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == 130
    assert stderr == "llmops: interrupted\n"


def imported_modules(*argv: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the console script under `python -X importtime`: every module it imports is named on
    stderr."""
    result = llmops(*argv, cwd=cwd, python_flags=("-X", "importtime"))
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    return result, names


@pytest.mark.parametrize("argv", [("--help",), ("validate",)])
def test_help_and_validate_import_none_of_the_heavy_libraries(
    argv: tuple[str, ...], estate: Path
) -> None:
    result, names = imported_modules(*argv, cwd=estate)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "click" in names and "llmops.cli.main" in names, "the listing works"
    heavy = sorted(
        name
        for name in names
        if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN)
    )
    assert heavy == []
    if argv == ("--help",):
        assert sorted(name for name in names if name.startswith("llmops.cli.")) == [
            "llmops.cli.exit_codes",
            "llmops.cli.launch",
            "llmops.cli.main",
        ], "--help lists the commands without importing them"
        assert not any(name.startswith("llmops.warm") for name in names), "no server asked for"
