"""Names and texts that come from git or go into it: `promote --branch` refuses every name git
already resolves, or would read differently once the branch exists; subjects and author names copied
into `history` and rollback messages are bounded."""

from __future__ import annotations

import json
from pathlib import Path

import git

from tests.helpers.estate import run_cli
from tests.helpers.git_repo import commit_all, git_cli, replace_with_submodule, root_of

DEV_ENDPOINT = "environments/dev/serving/example-model.yaml"
MAX_SUBJECT_CHARS = 200  # as the README documents
MAX_NAME_CHARS = 100


def _change_dev(repo: git.Repo, old: str, new: str, message: str) -> str:
    path = root_of(repo) / DEV_ENDPOINT
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    return commit_all(repo, message)


def _promote(repo: git.Repo, branch: str) -> tuple[int, str]:
    result = run_cli(
        "promote", "example-model", "--from", "dev", "--to", "stg", str(root_of(repo)),
        f"--branch={branch}",
    )  # fmt: skip
    return result.exit_code, result.stderr


def test_names_git_already_reads_as_something_are_refused(repo: git.Repo, tmp_path: Path) -> None:
    root = root_of(repo)
    head = _change_dev(repo, "1024", "512", "dev change")
    git_cli(root, "clone", "-q", "--bare", str(root), str(tmp_path / "remote.git"))
    git_cli(root, "remote", "add", "origin", str(tmp_path / "remote.git"))
    git_cli(root, "remote", "add", "upstream", str(tmp_path / "remote.git"))
    git_cli(root, "fetch", "-q", "origin")
    git_cli(root, "update-ref", "refs/notes/review", head)
    git_cli(root, "update-ref", "refs/deploy", head)
    refs_before = git_cli(root, "for-each-ref", "--format=%(refname)").stdout
    for name, words in [
        ("origin/main", "is a remote"),
        ("origin/promote-x", "is a remote"),  # would read as the remote's branch once fetched
        ("upstream/x", "is a remote"),
        ("origin", "is a remote"),
        ("stash", "as the stash"),
        (head[:12], "abbreviated commit id"),
        ("abcdef0", "abbreviated commit id"),  # no such object yet: one may come
        ("notes/review", "already reads it as"),
        ("deploy", "already reads it as"),
    ]:
        code, stderr = _promote(repo, name)
        assert code == 2 and words in stderr, (name, stderr)
        assert "is not a valid branch name" in stderr
    assert git_cli(root, "for-each-ref", "--format=%(refname)").stdout == refs_before
    code, stderr = _promote(repo, "main")
    assert code == 2 and "branch `main` already exists" in stderr
    code, _ = _promote(repo, "promote/abcdef0")  # hex as a later part is no id: accepted
    assert code == 0
    resolved = git_cli(root, "rev-parse", "--verify", "promote/abcdef0")
    assert "ambiguous" not in resolved.stderr


def test_long_subjects_and_author_names_are_cut_in_history_and_rollback(repo: git.Repo) -> None:
    root = root_of(repo)
    long_subject = "s" * 100_000
    long_author = git.Actor("n" * 10_000, "e" * 10_000 + "@x")
    path = root / DEV_ENDPOINT
    path.write_text(path.read_text(encoding="utf-8").replace("maxReplicas: 3", "maxReplicas: 4"))
    repo.git.add(A=True)
    repo.index.commit(long_subject + "\n\nbody", author=long_author, committer=long_author)

    history = run_cli("history", "example-model", "--env", "dev", str(root), "--format", "json")
    assert history.exit_code == 0, history.stderr
    newest = json.loads(history.stdout)["commits"][0]
    assert newest["subject"] == "s" * (MAX_SUBJECT_CHARS - 1) + "…"
    assert len(newest["author"]) == len(newest["email"]) == MAX_NAME_CHARS
    text = run_cli("history", "example-model", "--env", "dev", str(root))
    assert max(len(line) for line in text.stdout.splitlines()) < 400
    rollback = run_cli("rollback", "example-model", "--env", "dev", "--dry-run", str(root))
    assert rollback.exit_code == 0, rollback.stderr
    assert len(rollback.stdout) < 20_000 and "s" * MAX_SUBJECT_CHARS not in rollback.stdout
    assert "s" * (MAX_SUBJECT_CHARS - 1) + "…" in rollback.stdout


def test_a_submodule_under_environments_is_a_diagnostic_not_a_crash(
    repo: git.Repo, tmp_path: Path
) -> None:
    """GitPython cannot name a submodule without its .gitmodules entry: `diff`, `history` and
    `audit` ended with an internal error (exit 3) on a folder that is one."""
    elsewhere = tmp_path / "elsewhere"
    other = git.Repo.init(elsewhere, initial_branch="main")
    (elsewhere / "example-model.yaml").write_text(
        (root_of(repo) / "environments/stg/serving/example-model.yaml").read_text()
    )
    commit_all(other, "endpoints of their own")
    root = root_of(repo)
    replace_with_submodule(
        root, "environments/stg/serving", elsewhere, "stg's endpoints from another repository"
    )
    for command in (
        ("diff", "--base", "HEAD"),
        ("history", "example-model", "--env", "stg"),
        ("audit",),
    ):
        result = run_cli(*command, str(root))
        assert result.exit_code in (0, 1, 2), (command, result.stderr)
        assert "internal error" not in result.stderr
    said = run_cli("diff", str(root), "--base", "HEAD").stderr
    assert "a git submodule" in said


def test_an_environment_head_lacks_is_named_with_those_it_has(repo: git.Repo) -> None:
    result = run_cli("history", "example-model", str(root_of(repo)), "--env", "qa")
    assert result.exit_code == 2
    assert "environment `qa` does not exist at HEAD" in result.stderr
    assert "environments at HEAD: dev, prod, stg" in result.stderr


def test_a_long_name_is_repeated_cut_short() -> None:
    """Every command repeated a name it did not know in full: a 5,000-character one too."""
    from tests.helpers.estate import PROJECT_ROOT

    name = "x" * 5_000
    for command in (
        ("explain", name, "--env", "dev"),
        ("lineage", f"{name}@1", "--env", "dev"),
        ("validate", "--env", name),
    ):
        result = run_cli(*command, str(PROJECT_ROOT))
        assert result.exit_code == 2, (command, result.stderr)
        assert "x" * 79 + "…" in result.stderr and "x" * 81 not in result.stderr, command


def test_long_revisions_branches_and_options_are_repeated_cut_short(repo: git.Repo) -> None:
    root = str(root_of(repo))
    name = "a" * 5_000
    for command in (
        ("rollback", "example-model", root, "--env", "dev", "--to", name, "--dry-run"),
        ("diff", root, "--base", name),
        ("promote", "example-model", root, "--from", "dev", "--to", "stg", "--branch", name),
        ("rules", name),
    ):
        result = run_cli(*command)
        assert result.exit_code == 2, (command[0], result.stderr)
        assert len(result.stderr) < 1_500, (command[0], len(result.stderr))
