"""History from repositories that lack objects or hold dates no calendar has: usage errors that say
why and how to fix it, or the date as git stores it; never an internal error."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import git
import pytest

from tests.helpers.estate import run_cli
from tests.helpers.git_repo import commit_all, root_of

DEV_ENDPOINT = "environments/dev/serving/example-model.yaml"
HISTORY_COMMANDS = [
    ("history", "example-model", "--env", "dev"),
    ("history", "example-model", "--env", "dev", "--format", "json"),
    ("rollback", "example-model", "--env", "dev", "--dry-run"),
    ("validate", "--audit"),
    ("audit",),
]


def _set_replicas(repo: git.Repo, count: int) -> str:
    path = root_of(repo) / DEV_ENDPOINT
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("maxReplicas: 3", f"maxReplicas: {count}", 1), encoding="utf-8")
    return commit_all(repo, f"dev max {count}")


def _git(cwd: Path, *args: str, stdin: bytes | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, check=True)
    return done.stdout.decode().strip()


@pytest.mark.parametrize("depth", [1, 2])
def test_a_shallow_clone_is_a_usage_error_naming_it(
    repo: git.Repo, tmp_path: Path, depth: int
) -> None:
    _set_replicas(repo, 4)
    _set_replicas(repo, 5)
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", f"--depth={depth}", f"file://{root_of(repo)}", str(clone))
    for command in HISTORY_COMMANDS:
        result = run_cli(*command, str(clone))
        assert result.exit_code == 2, (command, result.stderr)
        assert "shallow clone" in result.stderr and "fetch-depth: 0" in result.stderr, command
        assert "internal error" not in result.stderr


def test_a_missing_object_is_a_usage_error_naming_it(repo: git.Repo) -> None:
    _set_replicas(repo, 4)
    root = root_of(repo)
    blob = _git(root, "rev-parse", f"HEAD~1:{DEV_ENDPOINT}")
    (root / ".git" / "objects" / blob[:2] / blob[2:]).unlink()  # commits write loose objects
    for command in [*HISTORY_COMMANDS, ("diff", "--base", "HEAD~1", "--env", "dev")]:
        result = run_cli(*command, str(root))
        assert result.exit_code == 2, (command, result.stderr)
        assert f"git object {blob[:12]} is missing" in result.stderr, command


@pytest.mark.parametrize(
    ("stamp", "shown"),
    [
        ("99999999999999 +0000", "@99999999999999 +0000"),  # year 3,170,843
        ("18446744073709551615 +0530", "@18446744073709551615 +0530"),  # 2**64 - 1
        ("253402300799 -0100", "9999-12-31T22:59:59-01:00"),  # the last second a calendar holds
        ("1700000000 +2359", "2023-11-15T22:12:20+23:59"),
    ],
)
def test_a_commit_date_no_calendar_holds_is_shown_as_git_stores_it(
    repo: git.Repo, stamp: str, shown: str
) -> None:
    root = root_of(repo)
    path = root / DEV_ENDPOINT
    path.write_text(path.read_text(encoding="utf-8").replace("maxReplicas: 3", "maxReplicas: 7"))
    _git(root, "add", "-A")
    tree, parent = _git(root, "write-tree"), _git(root, "rev-parse", "HEAD")
    raw = (
        f"tree {tree}\nparent {parent}\nauthor a <a@x> {stamp}\ncommitter a <a@x> {stamp}\n\nodd\n"
    )
    commit = _git(root, "hash-object", "-t", "commit", "-w", "--stdin", stdin=raw.encode())
    _git(root, "update-ref", "HEAD", commit)

    result = run_cli("history", "example-model", "--env", "dev", str(root), "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["commits"][0]["date"] == shown
    text = run_cli("history", "example-model", "--env", "dev", str(root))
    assert text.exit_code == 0, text.stderr
    expected = shown if shown.startswith("@") else shown.replace("T", " ")[:16]
    assert f"  {expected}  " in text.stdout.splitlines()[0]


@pytest.mark.parametrize("missing", ["HEAD~1", "HEAD~1^{tree}"])
def test_a_missing_commit_or_tree_in_the_walk_is_a_usage_error(
    repo: git.Repo, missing: str
) -> None:
    _set_replicas(repo, 4)
    path = root_of(repo) / DEV_ENDPOINT
    path.write_text(path.read_text(encoding="utf-8").replace("maxReplicas: 4", "maxReplicas: 5"))
    commit_all(repo, "dev max 5")
    root = root_of(repo)
    sha = _git(root, "rev-parse", missing)
    (root / ".git" / "objects" / sha[:2] / sha[2:]).unlink()
    for command in HISTORY_COMMANDS:
        result = run_cli(*command, str(root))
        assert result.exit_code == 2, (command, result.stderr)
        assert "internal error" not in result.stderr and sha[:12] in result.stderr, command
        assert "git fsck" in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ("diff", "--base", "HEAD~2"),
        ("diff", "--base", "origin/elsewhere"),
        ("diff", "--base", "HEAD", "--head", "HEAD~2"),
        ("rollback", "example-model", "--env", "dev", "--to", "HEAD~2", "--dry-run"),
    ],
)
def test_a_revision_a_shallow_clone_lacks_says_it_is_shallow(
    repo: git.Repo, tmp_path: Path, command: tuple[str, ...]
) -> None:
    """CI's default checkout holds one commit of one branch: the base revision of a `diff` is
    then unknown, and the message says why and how to fetch it, not only git's `bad revision`."""
    _set_replicas(repo, 4)
    _set_replicas(repo, 5)
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", "--depth=1", f"file://{root_of(repo)}", str(clone))
    result = run_cli(*command, str(clone))
    assert result.exit_code == 2, (command, result.stderr)
    assert "unknown revision" in result.stderr and "shallow clone" in result.stderr
    assert "git fetch --unshallow" in result.stderr and "fetch-depth: 0" in result.stderr
