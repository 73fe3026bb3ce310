"""`llmops promote` changes the values it promotes in the target's file and nothing else: the
target's comments, quoting and reference spelling stay, so the branch's diff shows only what
changes."""

from __future__ import annotations

import subprocess

import git

from tests.helpers.estate import run_cli
from tests.helpers.git_repo import commit_all, root_of

DEV_ENDPOINT = "environments/dev/serving/example-model.yaml"
STG_ENDPOINT = "environments/stg/serving/example-model.yaml"
BRANCH = "promote/example-model-dev-to-stg"


def committed(repo: git.Repo, revision: str, relative: str) -> str:
    return subprocess.run(
        ["git", "show", f"{revision}:{relative}"],
        cwd=root_of(repo),
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def edit_dev(repo: git.Repo, old: str, new: str) -> None:
    path = root_of(repo) / DEV_ENDPOINT
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def promote(repo: git.Repo) -> None:
    result = run_cli("promote", "example-model", "--from", "dev", "--to", "stg", str(root_of(repo)))
    assert result.exit_code == 0, result.stdout + result.stderr


def test_only_the_promoted_values_change_in_the_targets_text(repo: git.Repo) -> None:
    stg = root_of(repo) / STG_ENDPOINT
    # the target's own comment and quoting, as a person wrote them
    stg.write_text(
        stg.read_text(encoding="utf-8")
        .replace('      cpu: "8"\n', "      cpu: '8'   # eight cores\n")
        .replace("  route: ", "  # the route stays\n  route: "),
        encoding="utf-8",
    )
    commit_all(repo, "stg: comments")
    before = stg.read_text(encoding="utf-8")
    edit_dev(repo, "max_output_tokens: 1024", "max_output_tokens: 512")
    commit_all(repo, "dev: shorter answers")

    promote(repo)
    after = committed(repo, BRANCH, STG_ENDPOINT)
    assert after == before.replace("max_output_tokens: 1024", "max_output_tokens: 512")


def test_a_new_model_keeps_the_targets_reference_form(repo: git.Repo) -> None:
    root = root_of(repo)
    model = (root / "environments/_shared/catalog/example-base-model.yaml").read_text()
    (root / "environments/_shared/catalog/example-base-model-1.1.yaml").write_text(
        model.replace('"version": "1.0"', '"version": "1.1"').replace("/1.0/", "/1.1/")
    )
    edit_dev(repo, "example-base-model-1.0", "example-base-model-1.1")  # dev writes name-version
    approval = ("approve", "example-base-model@1.1", "--env", "dev", "--by", "admin")
    assert run_cli(*approval, "--role", "admin", str(root)).exit_code == 0
    commit_all(repo, "dev serves 1.1")
    before = (root / STG_ENDPOINT).read_text(encoding="utf-8")
    assert "modelId: example-base-model@1.0" in before  # stg writes name@version

    promote(repo)
    after = committed(repo, BRANCH, STG_ENDPOINT)
    assert after == before.replace("example-base-model@1.0", "example-base-model@1.1")


def test_a_document_written_anew_keeps_its_comment_and_double_quotes(repo: git.Repo) -> None:
    """A key the target lacks cannot be a one-value edit: the document is written again, with
    its leading comment and strings quoted as the bundled files quote them."""
    stg = root_of(repo) / STG_ENDPOINT
    comment = stg.read_text(encoding="utf-8").splitlines()[0]
    assert comment.startswith("# ")
    edit_dev(repo, "spec:\n", "spec:\n  name: example-model\n")
    commit_all(repo, "dev: spec.name")

    promote(repo)
    after = committed(repo, BRANCH, STG_ENDPOINT)
    assert after.splitlines()[0] == comment
    assert "promoted from dev" not in after
    assert '      cpu: "8"\n' in after and "'" not in after
