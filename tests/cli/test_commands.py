"""Every command is one module with a click command in front of a keyword-only handler, so an
option can never reach the wrong parameter; the listing in main.py agrees with the modules."""

from __future__ import annotations

import importlib
import inspect

import click
import pytest

from llmops.cli.main import COMMANDS
from tests.helpers.estate import PROJECT_ROOT, run_cli


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_command_module_passes_every_option_by_name(name: str) -> None:
    command = importlib.import_module(f"llmops.cli.{name}").command
    assert isinstance(command, click.Command) and command.name == name
    assert command.callback is not None
    handler = inspect.signature(command.callback).parameters.values()
    assert [p.name for p in handler if p.kind is not inspect.Parameter.KEYWORD_ONLY] == []
    given = {param.name for param in command.params if param.expose_value}
    assert given == {p.name for p in handler}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_listing_says_what_the_command_says(name: str) -> None:
    command = importlib.import_module(f"llmops.cli.{name}").command
    assert (command.help or "").split("\n\n")[0] == COMMANDS[name]


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    import llmops.cli.validate as validate_module

    def explode(*_args: object, **_keywords: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(validate_module, "validate_repository", explode)
    assert run_cli("validate", str(PROJECT_ROOT)).exit_code == 3
    with pytest.raises(RuntimeError, match="boom"):
        run_cli("--debug", "validate", str(PROJECT_ROOT))
    monkeypatch.setenv("LLMOPS_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        run_cli("validate", str(PROJECT_ROOT))


def test_rollback_takes_a_revision_or_a_count_not_both() -> None:
    result = run_cli("rollback", "example-model", "--env", "dev", "--to", "HEAD", "--steps", "2")
    assert result.exit_code == 2
    assert result.stderr == "llmops: error: give either --to REV or --steps N, not both\n"
