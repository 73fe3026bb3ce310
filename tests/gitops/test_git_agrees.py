"""After llmops moves the checkout or writes commits, the real git binary must agree with it: the
index holds HEAD's tree, nothing shows as changed, fsck is clean, and the next plain `git commit`
keeps what llmops committed (a stale cached tree in the index once made it write the rolled-back
manifest back)."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from tests.helpers.estate import run_cli
from tests.helpers.git_repo import assert_git_agrees, git_cli, root_of

DEV_ENDPOINT = "environments/dev/serving/example-model.yaml"
STG_ENDPOINT = "environments/stg/serving/example-model.yaml"


def change(repo: git.Repo, relative: str, old: str, new: str, message: str) -> str:
    """Edit and commit with the git binary, as a user does (git keeps cached trees in its index)."""
    root = root_of(repo)
    path = root / relative
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    git_cli(root, "commit", "-q", "-a", "-m", message)
    return git_cli(root, "rev-parse", "HEAD").stdout.strip()


def committed(repo: git.Repo, revision: str, relative: str) -> str:
    return git_cli(root_of(repo), "show", f"{revision}:{relative}").stdout


@pytest.mark.parametrize("arguments", [(), ("--steps", "2"), ("--to", "HEAD~2")])
def test_the_next_git_commit_keeps_the_rollback(repo: git.Repo, arguments: tuple[str, ...]) -> None:
    root = root_of(repo)
    change(repo, DEV_ENDPOINT, "maxReplicas: 3", "maxReplicas: 4", "four")
    change(repo, DEV_ENDPOINT, "maxReplicas: 4", "maxReplicas: 5", "five")
    result = run_cli("rollback", "example-model", "--env", "dev", str(root), *arguments)
    assert result.exit_code == 0, result.stderr
    rolled_back = (root / DEV_ENDPOINT).read_text(encoding="utf-8")
    assert committed(repo, "HEAD", DEV_ENDPOINT) == rolled_back
    assert_git_agrees(root)

    git_cli(root, "commit", "--allow-empty", "-m", "an unrelated empty commit")
    assert committed(repo, "HEAD", DEV_ENDPOINT) == rolled_back
    assert git_cli(root, "diff", "--stat", "HEAD~1", "HEAD").stdout == ""
    assert_git_agrees(root)


def test_a_rollback_that_deletes_and_restores_files_leaves_git_consistent(repo: git.Repo) -> None:
    root = root_of(repo)
    extra = "environments/dev/extra/more/extra.yaml"
    text = (
        (root / DEV_ENDPOINT)
        .read_text()
        .replace("name: example-model", "name: extra")
        .replace("/serve/example-model", "/serve/extra")
    )
    (root / extra).parent.mkdir(parents=True)
    (root / extra).write_text(text, encoding="utf-8")
    git_cli(root, "add", extra)
    git_cli(root, "commit", "-q", "-m", "Add extra")
    added = git_cli(root, "rev-parse", "HEAD").stdout.strip()
    assert run_cli("rollback", "extra", "--env", "dev", str(root)).exit_code == 0
    assert not (root / "environments/dev/extra").exists()  # the emptied folders go too
    assert_git_agrees(root)
    git_cli(root, "commit", "--allow-empty", "-m", "x")
    assert (
        git_cli(root, "ls-tree", "-r", "--name-only", "HEAD", "environments/dev/extra").stdout == ""
    )

    assert run_cli("rollback", "extra", "--env", "dev", str(root), "--to", added).exit_code == 0
    assert (root / extra).read_text(encoding="utf-8") == text
    assert_git_agrees(root)


def test_promote_leaves_the_checkout_and_the_index_alone(repo: git.Repo) -> None:
    root = root_of(repo)
    change(
        repo,
        DEV_ENDPOINT,
        "max_output_tokens: 1024",
        "max_output_tokens: 512",
        "dev: shorter answers",
    )
    head = git_cli(root, "rev-parse", "HEAD").stdout.strip()
    assert (
        run_cli("promote", "example-model", "--from", "dev", "--to", "stg", str(root)).exit_code
        == 0
    )
    assert_git_agrees(root)
    assert git_cli(root, "rev-parse", "HEAD").stdout.strip() == head
    branch = "promote/example-model-dev-to-stg"
    assert git_cli(root, "rev-parse", f"{branch}~1").stdout.strip() == head
    assert "max_output_tokens: 512" in committed(repo, branch, STG_ENDPOINT)
    git_cli(root, "switch", branch)
    assert_git_agrees(root)


def test_a_held_index_lock_is_a_usage_error_in_gits_words(repo: git.Repo) -> None:
    root = root_of(repo)
    change(repo, DEV_ENDPOINT, "maxReplicas: 3", "maxReplicas: 5", "five")
    head = git_cli(root, "rev-parse", "HEAD").stdout.strip()
    lock = root / ".git" / "index.lock"
    lock.write_text("", encoding="utf-8")
    for command in (
        ("rollback", "example-model", "--env", "dev"),
        ("rollback", "example-model", "--env", "dev", "--to", "HEAD~1"),
    ):
        result = run_cli(*command, str(root))
        assert result.exit_code == 2, result.stderr
        assert "index.lock" in result.stderr and "File exists" in result.stderr
        assert "once none runs, remove the index.lock file" in result.stderr
        assert "internal error" not in result.stderr
    lock.unlink()
    assert git_cli(root, "rev-parse", "HEAD").stdout.strip() == head
    assert_git_agrees(root)
    # Promote builds its commit in a private index: a held lock of the checkout's index does not
    # matter.
    lock.write_text("", encoding="utf-8")
    change_file = root / DEV_ENDPOINT
    assert "maxReplicas: 5" in change_file.read_text()
    promoted = run_cli("promote", "example-model", "--from", "dev", "--to", "stg", str(root))
    lock.unlink()
    assert promoted.exit_code == 0, promoted.stderr


UNRESOLVABLE = [
    "0" * 40,
    "@{-1}",
    "HEAD:../x",
    "HEAD:environments",
    "HEAD^{tree}",
    "no-such-branch",
    "HEAD~99",
    "main@{99}",
    "--output=/tmp/x",
    "-h",
    "HEAD..main",
    "",
    " ",
    "a\nb",
    "HEAD\x1b[2J",
]


@pytest.mark.parametrize("revision", UNRESOLVABLE)
def test_a_revision_git_cannot_resolve_to_one_commit_is_a_usage_error(
    repo: git.Repo, revision: str
) -> None:
    root = root_of(repo)
    change(repo, DEV_ENDPOINT, "maxReplicas: 3", "maxReplicas: 5", "five")
    head = git_cli(root, "rev-parse", "HEAD").stdout.strip()
    for command in (
        ("diff", f"--base={revision}"),
        ("diff", "--base=HEAD", f"--head={revision}"),
        ("rollback", "example-model", "--env", "dev", f"--to={revision}"),
    ):
        result = run_cli(*command, str(root))
        assert result.exit_code == 2, (command, result.stderr)
        assert "internal error" not in result.stderr and "revision" in result.stderr, result.stderr
        assert "\x1b" not in result.stderr
    assert git_cli(root, "rev-parse", "HEAD").stdout.strip() == head
    assert not (root / "--output=").exists() and not list(root.glob("-*"))


def test_gits_own_words_name_what_is_wrong(repo: git.Repo) -> None:
    root = root_of(repo)
    words = {
        "0" * 40: "bad object",
        "@{-1}": "bad revision",
        "HEAD:../x": "outside repository",
        "HEAD^{tree}": "expected commit type",
    }
    for revision, expected in words.items():
        result = run_cli("diff", f"--base={revision}", str(root))
        assert expected in result.stderr, (revision, result.stderr)


def test_revisions_git_resolves_still_work(repo: git.Repo) -> None:
    root = root_of(repo)
    first = change(repo, DEV_ENDPOINT, "maxReplicas: 3", "maxReplicas: 4", "four")
    change(repo, DEV_ENDPOINT, "maxReplicas: 4", "maxReplicas: 5", "five")
    git_cli(root, "tag", "v-four", first)
    for revision in ("HEAD~1", "v-four", first[:10], ":/four", "main@{1}", "main~1"):
        result = run_cli("diff", "--base", revision, "--head", "HEAD", str(root))
        assert result.exit_code == 1, (revision, result.stderr)  # one change: maxReplicas 4 -> 5
        assert "4 -> 5" in result.stdout


def test_without_a_git_identity_rollback_is_a_usage_error_and_changes_nothing(
    repo: git.Repo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = root_of(repo)
    change(repo, DEV_ENDPOINT, "maxReplicas: 3", "maxReplicas: 5", "five")
    head = git_cli(root, "rev-parse", "HEAD").stdout.strip()
    git_cli(root, "config", "--unset", "user.name")
    git_cli(root, "config", "--unset", "user.email")
    for variable in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "EMAIL",
    ):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no global identity either
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    # git may not guess one from the host name
    git_cli(root, "config", "user.useConfigOnly", "true")
    result = run_cli("rollback", "example-model", "--env", "dev", str(root))
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "cannot build the commit" in result.stderr and "git config user.email" in result.stderr
    assert git_cli(root, "rev-parse", "HEAD").stdout.strip() == head
    assert git_cli(root, "status", "--porcelain").stdout == ""
