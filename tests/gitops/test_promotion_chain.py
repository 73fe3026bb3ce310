"""A model version travels dev -> stg -> prod in the bundled estate without deadlock: each step is
`llmops promote`, approvals on the branch and a merge by the real git binary."""

from __future__ import annotations

from pathlib import Path

import git
import yaml

from tests.helpers.estate import run_cli, write_files
from tests.helpers.git_repo import commit_all, root_of

MODEL = "environments/_shared/catalog/example-base-model.yaml"
DEV_ENDPOINT = "environments/dev/serving/example-model.yaml"


def approve(root: Path, env: str, who: str) -> None:
    result = run_cli(
        "approve", "example-base-model@1.1", "--env", env, "--by", who, "--role", "admin", str(root)
    )
    assert result.exit_code == 0, result.stderr


def merge_with_git(repo: git.Repo, branch: str) -> None:
    repo.git.switch("main")
    repo.git.merge("--no-ff", branch, "-m", f"merge {branch}")


def dev_serves_1_1(repo: git.Repo) -> Path:
    root = root_of(repo)
    model = (root / MODEL).read_text()
    write_files(
        root,
        {
            "environments/_shared/catalog/example-base-model-1.1.yaml": model.replace(
                '"version": "1.0"', '"version": "1.1"'
            ).replace("/1.0/", "/1.1/")
        },
    )
    endpoint = root / DEV_ENDPOINT
    endpoint.write_text(
        endpoint.read_text().replace("example-base-model-1.0", "example-base-model-1.1")
    )
    approve(root, "dev", "admin")
    commit_all(repo, "dev serves 1.1")
    return root


def validate_exit(root: Path) -> tuple[int, str]:
    result = run_cli("validate", str(root))
    return result.exit_code, result.stdout + result.stderr


def test_a_version_promoted_into_stg_keeps_prod_valid_until_it_is_promoted_on(
    repo: git.Repo,
) -> None:
    root = dev_serves_1_1(repo)

    into_stg = run_cli("promote", "example-model", "--from", "dev", "--to", "stg", str(root))
    assert into_stg.exit_code == 0, into_stg.stdout + into_stg.stderr
    # what prod has to do next, said before anyone merges
    assert (
        "prod requires stg (promotion.requires) and serves example-base-model@1.0 on "
        "`example-model`, which stg will no longer serve" in into_stg.stdout
    )
    assert "llmops promote example-model --from stg --to prod" in into_stg.stdout

    repo.git.switch("promote/example-model-dev-to-stg")
    approve(root, "stg", "carol")
    commit_all(repo, "stg approves 1.1")
    assert validate_exit(root)[0] == 0
    merge_with_git(repo, "promote/example-model-dev-to-stg")
    # stg serves 1.1, prod still 1.0 (stg's approval of 1.0 stands): the main branch is valid
    code, output = validate_exit(root)
    assert code == 0, output

    into_prod = run_cli("promote", "example-model", "--from", "stg", "--to", "prod", str(root))
    assert into_prod.exit_code == 0, into_prod.stdout + into_prod.stderr
    assert "prod needs 2 more approval(s) of example-base-model@1.1" in into_prod.stdout
    repo.git.switch("promote/example-model-stg-to-prod")
    for who in ("alice", "bob"):
        approve(root, "prod", who)
    commit_all(repo, "prod approves 1.1")
    merge_with_git(repo, "promote/example-model-stg-to-prod")
    code, output = validate_exit(root)
    assert code == 0, output
    served = yaml.safe_load((root / "environments/prod/serving/example-model.yaml").read_text())
    assert served["spec"]["modelId"] == "example-base-model@1.1"  # prod's own spelling


def test_withdrawing_stgs_approval_withdraws_prods_and_promote_fixes_it(repo: git.Repo) -> None:
    root = dev_serves_1_1(repo)
    assert (
        run_cli("promote", "example-model", "--from", "dev", "--to", "stg", str(root)).exit_code
        == 0
    )
    repo.git.switch("promote/example-model-dev-to-stg")
    approve(root, "stg", "carol")
    commit_all(repo, "stg approves 1.1")
    merge_with_git(repo, "promote/example-model-dev-to-stg")
    repo.git.rm("environments/stg/approvals/example-base-model-1-0-admin.yaml")
    repo.git.commit("-m", "stg withdraws its approval of 1.0")

    code, output = validate_exit(root)
    assert code == 1 and "[P012]" in output
    assert "prod may only serve what went through stg; stg neither serves nor approves" in output
    # the hint points at the promotion that fixes it, not backwards
    assert (
        "stg's `example-model` serves example-base-model@1.1: bring prod up to it with "
        "`llmops promote example-model --from stg --to prod`" in output
    )

    # prod's only error at HEAD is the one this promotion fixes: it is not a reason to refuse
    result = run_cli("promote", "example-model", "--from", "stg", "--to", "prod", str(root))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "fixes 1 error(s) prod has at HEAD (P012)" in result.stdout
    assert "promote/example-model-stg-to-prod" in [head.name for head in repo.heads]


def test_an_error_at_head_the_promotion_does_not_fix_still_refuses(repo: git.Repo) -> None:
    root = root_of(repo)
    settings = root / "environments/prod/environment.yaml"
    settings.write_text(
        settings.read_text().replace("maxPerEndpoint: 4", "maxPerEndpoint: 4\n    allowed: false")
    )
    commit_all(repo, "prod: contradictory GPU policy")
    endpoint = root / "environments/stg/serving/example-model.yaml"
    endpoint.write_text(endpoint.read_text().replace("1024", "512"))
    commit_all(repo, "stg change")
    result = run_cli("promote", "example-model", "--from", "stg", "--to", "prod", str(root))
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "error(s) at HEAD that this promotion does not fix" in result.stderr
    assert [head.name for head in repo.heads] == ["main"]
