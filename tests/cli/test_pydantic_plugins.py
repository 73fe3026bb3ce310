"""pydantic's plugins stay off for llmops without `importlib.metadata` being imported, and a user
who turns them on gets pydantic's own loader (llmops/pydantic_plugins.py)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import types

import pytest

from llmops.pydantic_plugins import LOADER, PLUGINS_VARIABLE, LoaderStandIn
from tests.helpers.estate import PROJECT_ROOT

_VALIDATE_AND_REPORT = """
import contextlib, io, json, runpy, sys
sys.argv = ["llmops", "validate", *sys.argv[1:]]
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        runpy.run_module("llmops.cli.main", run_name="__main__", alter_sys=True)
    except SystemExit as stop:
        code = stop.code
print(json.dumps({
    "exit": code,
    "output": out.getvalue(),
    "metadata_imported": "importlib.metadata" in sys.modules,
    "loader": type(sys.modules.get("pydantic.plugin._loader")).__name__,
}))
"""


def _validate_in_a_fresh_interpreter(plugins_variable: str | None) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != PLUGINS_VARIABLE}
    if plugins_variable is not None:
        env[PLUGINS_VARIABLE] = plugins_variable
    env.update(NO_COLOR="1", PYTHONPATH=str(PROJECT_ROOT))
    child = subprocess.run(
        [sys.executable, "-c", _VALIDATE_AND_REPORT, str(PROJECT_ROOT)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=60,
        env=env,
    )
    assert child.returncode == 0, child.stderr
    report: dict[str, object] = json.loads(child.stdout)
    return report


def test_validate_does_not_import_package_metadata() -> None:
    """Reading every installed package's metadata is for finding plugins; llmops uses none."""
    report = _validate_in_a_fresh_interpreter(None)
    assert report["exit"] == 0
    assert report["metadata_imported"] is False
    assert report["loader"] == "LoaderStandIn"


@pytest.mark.parametrize("turned_off", ["__all__", "1", "true"])
def test_every_value_that_turns_plugins_off_spares_the_metadata(turned_off: str) -> None:
    report = _validate_in_a_fresh_interpreter(turned_off)
    assert report["metadata_imported"] is False


def test_a_user_who_chooses_plugins_gets_pydantics_own_loader_and_the_same_report() -> None:
    """Only some plugins disabled (a name, not `__all__`): pydantic looks for the others."""
    usual = _validate_in_a_fresh_interpreter(None)
    chosen = _validate_in_a_fresh_interpreter("some-plugin")
    assert chosen["metadata_imported"] is True
    assert chosen["loader"] == "module"
    assert (chosen["exit"], chosen["output"]) == (usual["exit"], usual["output"])


def _pydantics_loader() -> types.ModuleType:
    """The real loader, whether or not a stand-in answers for it in this process."""
    module = sys.modules.get(LOADER)
    if isinstance(module, LoaderStandIn):
        return module.real_loader()
    return importlib.import_module(LOADER)


def test_the_stand_in_answers_no_plugins_only_while_they_are_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_loader = _pydantics_loader()
    stand_in = LoaderStandIn(LOADER)
    monkeypatch.setenv(PLUGINS_VARIABLE, "__all__")
    assert list(stand_in.get_plugins()) == []
    monkeypatch.setenv(PLUGINS_VARIABLE, "some-plugin")
    assert list(stand_in.get_plugins()) == list(real_loader.get_plugins())


def test_the_stand_in_hands_every_other_name_to_the_real_loader() -> None:
    real_loader = _pydantics_loader()
    assert not isinstance(real_loader, LoaderStandIn)
    stand_in = LoaderStandIn(LOADER)
    assert stand_in.PYDANTIC_ENTRY_POINT_GROUP == real_loader.PYDANTIC_ENTRY_POINT_GROUP
    # the import system probes these; the stand-in is a module, not a package
    assert not hasattr(stand_in, "__path__")
    assert not hasattr(stand_in, "__file__")
