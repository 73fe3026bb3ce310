"""Real temporary git repositories for tests: built with GitPython, checked with the real git
binary."""

from __future__ import annotations

import os
import subprocess
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


FIXED_TIME = 1767225600  # 2026-01-01T00:00:00Z: fixed dates give the same commit ids on every run
# A signature block as git stores it in a commit header. The audit checks that a signature is
# present (verifying it against trusted keys is the forge's job), so fixtures need no private key.
SIGNATURE = (
    "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgZml4dHVyZS1rZXk=\n"
    "-----END SSH SIGNATURE-----"
)


def commit_paths(
    repo: git.Repo, paths: list[str], message: str, author: git.Actor, signed: bool = False
) -> str:
    """Commit exactly `paths` (added or changed) as `author`, at a fixed time, optionally with a
    signature."""
    from io import BytesIO

    from gitdb import IStream  # type: ignore[import-untyped]

    repo.index.add(paths)
    tree = repo.index.write_tree()
    parents = [repo.head.commit] if repo.head.is_valid() else []
    commit = git.Commit(
        repo,
        git.Commit.NULL_BIN_SHA,
        tree,
        author,
        FIXED_TIME,
        0,
        author,
        FIXED_TIME,
        0,
        message,
        parents,
        "UTF-8",
        gpgsig=SIGNATURE if signed else None,
    )
    stream = BytesIO()
    commit._serialize(stream)
    data = stream.getvalue()
    commit.binsha = repo.odb.store(IStream(git.Commit.type, len(data), BytesIO(data))).binsha
    # also on an unborn branch, which GitPython cannot move
    repo.git.update_ref("HEAD", commit.hexsha)
    return commit.hexsha


def root_of(repo: git.Repo) -> Path:
    return Path(str(repo.working_tree_dir))


def git_cli(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The real git binary (not GitPython), in `root`, with a fixed identity for any commit it
    makes."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": AUTHOR.name,
        "GIT_AUTHOR_EMAIL": str(AUTHOR.email),
        "GIT_COMMITTER_NAME": AUTHOR.name,
        "GIT_COMMITTER_EMAIL": str(AUTHOR.email),
        "LC_ALL": "C",
    }
    completed = subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, env=env, check=False
    )
    if check:
        assert completed.returncode == 0, f"git {' '.join(args)}: {completed.stderr}"
    return completed


def assert_git_agrees(root: Path) -> None:
    """What the git binary sees after llmops moved the checkout: the index holds exactly HEAD's tree
    (so the next `git commit` changes nothing), nothing is modified or untracked, and the objects
    are sound."""
    assert (
        git_cli(root, "write-tree").stdout.strip()
        == git_cli(root, "rev-parse", "HEAD^{tree}").stdout.strip()
    )
    assert git_cli(root, "status", "--porcelain", "--untracked-files=all").stdout == ""
    fsck = git_cli(root, "fsck", "--strict", "--no-dangling", "--no-progress", check=False)
    assert fsck.returncode == 0 and fsck.stdout.strip() == "" and "error" not in fsck.stderr, (
        fsck.stderr
    )


def replace_with_submodule(root: Path, folder: str, source: Path, message: str) -> None:
    """Replace ``folder`` of the repository at ``root`` with a git submodule of the repository at
    ``source`` (a local path, which git allows only when told), and commit."""
    git_cli(root, "rm", "-rq", folder)
    git_cli(root, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(source), folder)
    git_cli(root, "commit", "-qm", message)
