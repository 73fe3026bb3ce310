from __future__ import annotations

import getpass
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

REPOSITORY = Path(__file__).resolve().parents[1]
_INSIDE = str(REPOSITORY) + os.sep
_BESIDE = str(REPOSITORY.parent) + os.sep
_READS = frozenset({"open", "os.listdir", "os.scandir"})
_MADE = frozenset({"tempfile.mkdtemp", "tempfile.mkstemp"})
# Entries beside the repository that this test run made itself: pytest's temporary root and whatever
# `tempfile` creates (they are beside it when the clone itself lies in the temporary folder, e.g.
# /tmp/x).
_OURS = {f"pytest-of-{getpass.getuser()}"}
# ... and the Python running the tests (its virtualenv may sit beside the clone, as in a nested
# clone).
_OURS.update(
    os.path.abspath(place)[len(_BESIDE) :].split(os.sep, 1)[0]
    for place in (sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path)
    if place and os.path.abspath(place).startswith(_BESIDE)
)


def _nothing_beside_the_repository(event: str, args: tuple[Any, ...]) -> None:
    """A user's clone has no folders beside it (CI's has one: ../shared). Any test, or any code a
    test runs in this process, that opens or lists something beside the repository fails, wherever
    the clone is."""
    if (
        (event not in _READS and event not in _MADE)
        or not args
        or not isinstance(args[0], (str, bytes, os.PathLike))
    ):
        return
    path = os.path.abspath(os.fsdecode(args[0])) + os.sep
    if not path.startswith(_BESIDE) or path == _BESIDE or path.startswith(_INSIDE):
        return
    entry = path[len(_BESIDE) :].split(os.sep, 1)[0]
    if event in _MADE:
        _OURS.add(entry)
    elif entry not in _OURS:
        raise PermissionError(
            f"a test read outside the repository: {path.rstrip(os.sep)} (a clone has nothing "
            f"beside it; vendor what the tests need inside {REPOSITORY.name}/)"
        )


if REPOSITORY.parent != Path(REPOSITORY.anchor):
    # chosen now: choosing writes a probe file, which must not look like a foreign read
    tempfile.gettempdir()
    sys.addaudithook(_nothing_beside_the_repository)

settings.register_profile(
    "ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(autouse=True)
def _no_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture(autouse=True)
def _render_cache_in_the_test_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`llmops render` keeps renders in a cache (by default in ~/.cache): the tests use one of
    their own, shared by the whole run (a cache is never wrong, so sharing it is fine)."""
    monkeypatch.setenv("LLMOPS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "render-cache"))
