"""A real repository holding the bundled estate, committed once, for the git workflow tests."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from tests.helpers.estate import copy_bundled_estate
from tests.helpers.git_repo import commit_all, init_repository


@pytest.fixture
def repo(tmp_path: Path) -> git.Repo:
    root = copy_bundled_estate(tmp_path / "repo")
    repository = init_repository(root)
    commit_all(repository, "the bundled estate")
    return repository
