"""A committed revision reads links as a checkout does: an environment's folder linked to a folder
elsewhere in the repository is read through the link in every part of a path (its files were "a
broken link" in a revision while `validate` of the checkout read them, so `diff --base` refused to
compare), and a link back to a folder that holds it is Y021 in both, and not followed."""

from __future__ import annotations

import os
import shutil

import git
import pytest

from compiler.load.tree import DirectoryTree
from llmops.gitops.tree import GitTree
from tests.helpers.estate import run_cli
from tests.helpers.git_repo import commit_all, git_cli, root_of


def _walks(repo: git.Repo, folder: str) -> tuple[list[str], list[str], list[str], list[str]]:
    """The files and the problem paths of ``folder``, in the checkout and in HEAD."""
    root = root_of(repo)
    checkout_files, checkout_problems = DirectoryTree(root).walk_files(folder)
    head_files, head_problems = GitTree(repo.head.commit).walk_files(folder)
    return (
        checkout_files,
        head_files,
        [path for path, _ in checkout_problems],
        [path for path, _ in head_problems],
    )


def test_an_environment_folder_linked_elsewhere_in_the_repository_reads_alike(
    repo: git.Repo,
) -> None:
    root = root_of(repo)
    shutil.move(root / "environments/dev/serving", root / "common-serving")
    os.symlink("../../common-serving", root / "environments/dev/serving")
    commit_all(repo, "dev's endpoints from a folder the link names")
    assert git_cli(root, "ls-files", "-s", "environments/dev/serving").stdout.startswith("120000")

    checkout_files, head_files, checkout_problems, head_problems = _walks(repo, "environments/dev")
    assert "environments/dev/serving/example-model.yaml" in checkout_files
    assert head_files == checkout_files and head_problems == checkout_problems == []
    assert run_cli("validate", str(root)).exit_code == 0
    compared = run_cli("diff", str(root), "--base", "HEAD")
    assert compared.exit_code == 0, compared.stderr
    assert "broken link" not in compared.stderr


@pytest.mark.parametrize("target", ["..", ".", "../.."])  # environments/, dev itself, the root
def test_a_link_to_a_folder_that_holds_it_is_y021_in_the_checkout_and_in_a_revision(
    repo: git.Repo, target: str
) -> None:
    """Not followed: the other environments' manifests are not read again as dev's (they were,
    reported as defined twice or misplaced at paths through the link)."""
    root = root_of(repo)
    os.symlink(target, root / "environments/dev/up")
    commit_all(repo, "a link back up")

    checkout_files, head_files, checkout_problems, head_problems = _walks(repo, "environments/dev")
    assert not any("/up/" in path for path in checkout_files)
    assert head_files == checkout_files
    assert head_problems == checkout_problems == ["environments/dev/up"]
    result = run_cli("validate", str(root))
    assert result.exit_code == 1
    assert "environments/dev/up:1:1: error[Y021]:" in result.stdout
    assert "R005" not in result.stdout and "P003" not in result.stdout
    base = run_cli("diff", str(root), "--base", "HEAD")
    assert "broken link" not in base.stderr
    assert base.stderr.count("error[Y021]") == 2  # the base's, and the head's
