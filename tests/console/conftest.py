"""Fixtures of the console's browser tests: Chromium through Playwright, the sandbox model server,
and a real `llmops proxy` in front of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.console.harness import CHROMIUM, echo_model, git_estate, missing_browser


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Module-scoped: Playwright's sync API marks an event loop as running in the main thread
    while it is open, which would break later tests that call asyncio.run."""
    problem = missing_browser()
    if problem is not None:
        pytest.fail(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox cannot start
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("console-logs")


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return git_estate(tmp_path_factory.mktemp("console-estate"))


@pytest.fixture(scope="module")
def model_server(logs: Path) -> Iterator[str]:
    with echo_model(logs) as url:
        yield url
