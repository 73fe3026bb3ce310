"""`promote --branch NAME` creates only branches every later git command can use: whatever
`git check-ref-format --branch` refuses, and the names git reads as something else, are usage
errors."""

from __future__ import annotations

import tempfile
from pathlib import Path

import git
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.errors import LlmopsError
from llmops.gitops.commits import create_branch
from tests.helpers.estate import run_cli
from tests.helpers.git_repo import assert_git_agrees, commit_all, git_cli, init_repository, root_of

DEV_ENDPOINT = "environments/dev/serving/example-model.yaml"
SPECIAL = [
    "HEAD",
    "FETCH_HEAD",
    "ORIG_HEAD",
    "MERGE_HEAD",
    "CHERRY_PICK_HEAD",
    "REVERT_HEAD",
    "BISECT_HEAD",
    "AUTO_MERGE",
    "x/HEAD",
    "-x",
    "--force",
    "@",
    "@{-1}",
    "@{u}",
    "main@{1}",
    "a@{b",
    "refs/heads/x",
    "heads/x",
    "tags/v1",
    "remotes/origin/main",
    "0123456789abcdef0123456789abcdef01234567",
    "bad..name",
    "with space",
    "/leading",
    "trailing/",
    "a.lock",
    "a//b",
    "a/.b",
    "x\x1b[2J",
    "x\ny",
    "~x",
    "a^b",
    "a:b",
    "a?b",
    "a*b",
    "a[b",
    "a\\b",
    "",
    ".",
    "..",
    "a.",
    "-",
]


@pytest.mark.parametrize("name", SPECIAL)
def test_promote_refuses_names_git_refuses_or_reads_otherwise(repo: git.Repo, name: str) -> None:
    root = root_of(repo)
    (root / DEV_ENDPOINT).write_text((root / DEV_ENDPOINT).read_text().replace("1024", "512"))
    commit_all(repo, "dev change")
    result = run_cli(
        "promote", "example-model", "--from", "dev", "--to", "stg", str(root), f"--branch={name}"
    )
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "is not a valid branch name" in result.stderr and "internal error" not in result.stderr
    assert "\x1b" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2  # the message and its hint, whole
    if any(ord(character) < 32 for character in name):
        assert "it contains a control character" in result.stderr
    assert git_cli(root, "for-each-ref", "--format=%(refname)").stdout.split() == [
        "refs/heads/main"
    ]
    assert_git_agrees(root)
    assert git_cli(root, "log", "-1", "--format=%s").stdout.strip() == "dev change"


def test_a_name_that_clashes_with_a_tag_or_a_branch_folder_is_refused(repo: git.Repo) -> None:
    root = root_of(repo)
    (root / DEV_ENDPOINT).write_text((root / DEV_ENDPOINT).read_text().replace("1024", "512"))
    commit_all(repo, "dev change")
    git_cli(root, "tag", "release")
    for name, words in (("release", "a tag of that name exists"), ("main/sub", "refs/heads/main")):
        result = run_cli(
            "promote",
            "example-model",
            "--from",
            "dev",
            "--to",
            "stg",
            str(root),
            f"--branch={name}",
        )
        assert result.exit_code == 2 and words in result.stderr, result.stderr
    assert git_cli(root, "for-each-ref", "--format=%(refname)", "refs/heads").stdout.split() == [
        "refs/heads/main"
    ]


NAME_PARTS = st.sampled_from(
    [
        "HEAD",
        "FETCH_HEAD",
        "@",
        "@{",
        "{-1}",
        "-",
        ".",
        "..",
        "/",
        "//",
        ".lock",
        "~",
        "^",
        ":",
        "?",
        "*",
        "[",
        "\\",
        " ",
        "\t",
        "\x1b",
        "\x7f",
        "refs",
        "heads/",
        "tags/",
        "a",
        "promote",
        "x-y",
        "é",
        "한",
        "😀",
        "0123456789abcdef0123456789abcdef01234567",
    ]
)
NAMES = st.one_of(
    st.lists(NAME_PARTS, min_size=1, max_size=5).map("".join),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\0"), max_size=12),
)


def test_every_created_branch_works_with_git_and_every_refused_name_creates_nothing() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "file.txt").write_text("x\n", encoding="utf-8")
        repo = init_repository(root)
        head = commit_all(repo, "one commit")

        @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(NAMES)
        def property_holds(name: str) -> None:
            git_accepts = git_cli(root, "check-ref-format", "--branch", name, check=False)
            try:
                create_branch(repo, name, repo.commit(head))
            except LlmopsError:
                assert git_cli(
                    root, "for-each-ref", "--format=%(refname)", "refs/heads"
                ).stdout.split() == ["refs/heads/main"]
                return
            assert git_accepts.returncode == 0 and git_accepts.stdout.rstrip("\n") == name
            resolved = git_cli(root, "rev-parse", "--verify", "--end-of-options", name)
            assert resolved.stdout.strip() == head and "ambiguous" not in resolved.stderr
            assert (
                git_cli(root, "branch", "--list", "--format=%(refname:short)")
                .stdout.split("\n")
                .count(name)
                == 1
            )
            assert_git_agrees(root)
            git_cli(root, "update-ref", "-d", f"refs/heads/{name}")

        property_holds()
