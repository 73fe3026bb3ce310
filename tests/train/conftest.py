"""One tiny base model per test session, shared by the trainer's tests (creating it takes
seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.train.contract import make_tiny_model


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("base") / "tiny-llama")
