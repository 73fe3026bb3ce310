"""Real temporary git repositories for tests (GitPython, never parsed porcelain)."""

from __future__ import annotations

from pathlib import Path

import git

AUTHOR = git.Actor("Alice Admin", "alice@example.com")


def init_repository(root: Path) -> git.Repo:
    repo = git.Repo.init(root, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", AUTHOR.name)
        config.set_value("user", "email", AUTHOR.email)
        config.set_value("commit", "gpgsign", "false")
    return repo


def commit_all(repo: git.Repo, message: str, author: git.Actor = AUTHOR) -> str:
    repo.git.add(A=True)
    return repo.index.commit(message, author=author, committer=author).hexsha
