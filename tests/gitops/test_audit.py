"""`llmops validate --audit` on real repositories: approvals are judged by who committed them."""

from __future__ import annotations

from pathlib import Path

import git

from tests.helpers.estate import copy_bundled_estate, run_cli
from tests.helpers.git_repo import commit_paths, init_repository, root_of

CAROL = git.Actor("Carol Owner", "carol@example.com")
ALICE = git.Actor("Alice", "alice@corp.example")
BOB = git.Actor("Bob", "bob@corp.example")
ADMIN = git.Actor("Platform Admin", "admin@corp.example")
PROD_APPROVALS = [
    "environments/prod/approvals/example-base-model-1-0-alice.yaml",
    "environments/prod/approvals/example-base-model-1-0-bob.yaml",
]
OTHER_APPROVALS = [
    "environments/dev/approvals/example-base-model-1-0-admin.yaml",
    "environments/stg/approvals/example-base-model-1-0-admin.yaml",
]


def audited_estate(tmp_path: Path) -> git.Repo:
    """The bundled estate committed as a real team would: Carol the model, each approver their
    approval."""
    root = copy_bundled_estate(tmp_path / "repo")
    repo = init_repository(root)
    everything = sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".git" not in p.parts
    )
    commit_paths(
        repo, [p for p in everything if p not in PROD_APPROVALS + OTHER_APPROVALS], "estate", CAROL
    )
    commit_paths(repo, OTHER_APPROVALS, "approve for dev and stg", ADMIN)
    commit_paths(repo, PROD_APPROVALS[:1], "alice approves", ALICE)
    commit_paths(repo, PROD_APPROVALS[1:], "bob approves", BOB)
    return repo


def test_a_genuine_history_passes_and_audit_is_an_alias(tmp_path: Path) -> None:
    root = str(root_of(audited_estate(tmp_path)))
    assert run_cli("validate", "--audit", root).stdout.startswith("no problems")
    assert run_cli("audit", root, "--env", "prod").exit_code == 0


def test_an_approval_rewritten_by_someone_else_is_caught_after_later_commits(
    tmp_path: Path,
) -> None:
    repo = audited_estate(tmp_path)
    root = root_of(repo)
    approval = root / PROD_APPROVALS[1]
    approval.write_text(approval.read_text() + "  notes: looks fine to me\n")
    # alice edits bob's approval
    commit_paths(repo, PROD_APPROVALS[1:], "tidy bob's approval", ALICE)
    readme = root / "NOTES.md"
    readme.write_text("later, unrelated\n")
    commit_paths(repo, ["NOTES.md"], "unrelated", CAROL)
    result = run_cli("validate", "--audit", str(root), "--format", "json")
    assert result.exit_code == 1
    import json

    diagnostics = json.loads(result.stdout)["diagnostics"]
    assert [(d["code"], d["file"], d["line"]) for d in diagnostics] == [
        ("G001", PROD_APPROVALS[1], 9)
    ]
    assert "by Alice <alice@corp.example>" in diagnostics[0]["message"]


def test_identities_map_approvers_to_their_git_addresses(tmp_path: Path) -> None:
    root = copy_bundled_estate(tmp_path / "repo")
    repo = init_repository(root)
    settings = root / "environments/prod/environment.yaml"
    settings.write_text(
        settings.read_text().replace(
            "    minApprovers: 2\n",
            "    minApprovers: 2\n    identities:\n      alice: [a.smith@corp.example]\n      "
            "bob: [bob@corp.example]\n",
        )
    )
    everything = sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".git" not in p.parts
    )
    commit_paths(repo, [p for p in everything if p not in PROD_APPROVALS], "estate", ADMIN)
    commit_paths(
        repo, PROD_APPROVALS[:1], "alice approves", git.Actor("A. Smith", "a.smith@corp.example")
    )
    commit_paths(
        repo, PROD_APPROVALS[1:], "bob approves", git.Actor("bob", "bob@elsewhere.example")
    )
    result = run_cli("audit", str(root), "--env", "prod")
    # alice's listed address matches; bob's name alone does not, because bob has a list.
    assert result.exit_code == 1
    assert result.stdout.count("[G001]") == 1 and "approved by `bob`" in result.stdout


def test_four_eyes_and_signatures_through_a_merge(tmp_path: Path) -> None:
    repo = audited_estate(tmp_path)
    root = root_of(repo)
    settings = root / "environments/prod/environment.yaml"
    settings.write_text(
        settings.read_text().replace(
            "    minApprovers: 2\n", "    minApprovers: 2\n    signedCommits: true\n"
        )
    )
    commit_paths(repo, ["environments/prod/environment.yaml"], "prod: signed approvals", CAROL)
    main = repo.active_branch
    repo.create_head("update").checkout()
    model = root / "environments/_shared/catalog/example-base-model.yaml"
    model.write_text(model.read_text().replace("Example base model", "Example base model, tuned"))
    commit_paths(repo, ["environments/_shared/catalog/example-base-model.yaml"], "describe", ALICE)
    for path in PROD_APPROVALS + OTHER_APPROVALS:  # re-approve the new digest
        assert (
            run_cli(
                "approve",
                "example-base-model@1.0",
                "--env",
                path.split("/")[1],
                "--by",
                Path(path).stem.rsplit("-", 1)[1],
                "--role",
                "admin",
                str(root),
            ).exit_code
            == 0
        )
    commit_paths(repo, PROD_APPROVALS[:1], "alice re-approves", ALICE, signed=True)
    commit_paths(repo, PROD_APPROVALS[1:], "bob re-approves", BOB)
    commit_paths(repo, OTHER_APPROVALS, "admin re-approves", ADMIN)
    main.checkout()
    repo.git.merge("update", no_ff=True, m="Merge update")
    result = run_cli("audit", str(root), "--env", "prod")
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if "error[" in line]
    assert len(lines) == 2
    # alice changed the model
    assert "example-base-model-1-0-alice.yaml" in lines[0] and "[G002]" in lines[0]
    # bob's commit is unsigned
    assert "example-base-model-1-0-bob.yaml" in lines[1] and "[G003]" in lines[1]


def test_uncommitted_approvals_are_a_warning_and_no_repository_is_a_usage_error(
    tmp_path: Path,
) -> None:
    repo = audited_estate(tmp_path)
    root = root_of(repo)
    approval = root / PROD_APPROVALS[0]
    approval.write_text(approval.read_text() + "  notes: pending\n")
    result = run_cli("audit", str(root), "--env", "prod")
    assert result.exit_code == 0 and "warning[G004]" in result.stdout
    plain = copy_bundled_estate(tmp_path / "plain")
    outside = run_cli("validate", "--audit", str(plain))
    assert outside.exit_code == 2 and "not inside a git repository" in outside.stderr


def _moved_behind_a_link(root: Path, relative: str, to: str) -> list[str]:
    """Move ``relative`` to ``to`` (both repository paths) and leave a relative link in its
    place: the checkout, and so `validate`, reads the same text. **Returns:** both paths."""
    import os

    source, target = root / relative, root / to
    target.parent.mkdir(parents=True, exist_ok=True)
    source.rename(target)
    os.symlink(os.path.relpath(target, source.parent), source)
    return [relative, to]


def test_an_approval_reached_through_a_link_is_audited_like_any_other(tmp_path: Path) -> None:
    """The audit's history reader skipped links, so a forged approval committed behind one was
    only "not committed yet" (G004, a warning, exit 0); also when only the link's target changes
    later, in a commit that touches nothing under environments/."""
    import json

    from tests.helpers.git_repo import git_cli

    repo = audited_estate(tmp_path)
    root = root_of(repo)
    link, vault = _moved_behind_a_link(root, PROD_APPROVALS[1], "vault/bob.yaml")
    commit_paths(repo, [link, vault], "keep approvals in the vault", ALICE)  # bob's, unchanged
    assert git_cli(root, "ls-files", "-s", link).stdout.startswith("120000")
    assert run_cli("audit", str(root)).exit_code == 0  # moving a genuine approval forges nothing
    text = (root / vault).read_text()
    (root / vault).write_text(text + "  notes: looks fine to me\n")
    commit_paths(repo, [vault], "tidy the vault", ALICE)  # alice edits bob's, outside environments/
    result = run_cli("audit", str(root), "--format", "json")
    found = [(d["code"], d["file"]) for d in json.loads(result.stdout)["diagnostics"]]
    assert found == [("G001", link)], result.stdout
    assert result.exit_code == 1


def test_an_environment_folder_behind_a_link_is_audited(tmp_path: Path) -> None:
    import json

    repo = audited_estate(tmp_path)
    root = root_of(repo)
    approval = root / PROD_APPROVALS[1]
    approval.write_text(approval.read_text() + "  notes: looks fine to me\n")
    commit_paths(repo, PROD_APPROVALS[1:], "tidy bob's approval", ALICE)  # alice edits bob's
    (root / "real").mkdir()
    repo.git.mv("environments/prod", "real/prod")
    import os

    os.symlink("../real/prod", root / "environments/prod")
    repo.git.add("environments/prod")
    repo.index.commit("prod's folder elsewhere", author=CAROL, committer=CAROL)
    result = run_cli("audit", str(root), "--env", "prod", "--format", "json")
    found = [(d["code"], d["file"]) for d in json.loads(result.stdout)["diagnostics"]]
    assert ("G001", PROD_APPROVALS[1]) in found, result.stdout


def test_an_approver_who_retrained_the_model_cannot_approve_it(tmp_path: Path) -> None:
    """The approval of a trained model covers its training job and dataset (its digest does):
    an approver who changed the job and approved the result was let through."""
    import json
    import shutil

    from tests.helpers.estate import PROJECT_ROOT

    example = PROJECT_ROOT / "examples" / "adapters"
    root = tmp_path / "repo"
    shutil.copytree(example / "environments", root / "environments")
    shutil.copytree(PROJECT_ROOT / "examples" / "datasets", root / "examples" / "datasets")
    approvals = sorted(
        str(path.relative_to(root)) for path in (root / "environments/dev/approvals").iterdir()
    )
    repo = init_repository(root)
    everything = sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".git" not in p.parts
    )
    commit_paths(repo, [p for p in everything if p not in approvals], "estate", CAROL)
    commit_paths(repo, approvals, "alice approves", ALICE)
    assert run_cli("audit", str(root), "--env", "dev").exit_code == 0

    job = root / "environments/dev/training/support-sft.yaml"
    job.write_text(job.read_text().replace("num_epochs: 2", "num_epochs: 20"))
    commit_paths(repo, ["environments/dev/training/support-sft.yaml"], "retrain", ALICE)
    approved = run_cli(
        "approve", "support-sft@1.0", str(root), "--env", "dev", "--by", "alice", "--role", "admin"
    )
    assert approved.exit_code == 0, approved.stderr
    commit_paths(repo, approvals, "alice approves the retrained adapter", ALICE)
    result = run_cli("audit", str(root), "--env", "dev", "--format", "json")
    found = [(d["code"], d["message"]) for d in json.loads(result.stdout)["diagnostics"]]
    assert [code for code, _ in found] == ["G002"], result.stdout
    assert "training job (support-sft)" in found[0][1]


def test_an_approval_in_a_git_submodule_cannot_pass_the_audit(tmp_path: Path) -> None:
    """A submodule's files are committed in another repository, which the audit does not read: a
    forged approval there was only "not committed yet" (G004, a warning, exit 0)."""
    import json
    import shutil

    from tests.helpers.git_repo import commit_all, replace_with_submodule

    repo = audited_estate(tmp_path)
    root = root_of(repo)
    elsewhere = tmp_path / "approvals-elsewhere"
    shutil.copytree(root / "environments/prod/approvals", elsewhere)
    other = init_repository(elsewhere)
    commit_all(other, "approvals, by whoever", ALICE)
    replace_with_submodule(
        root, "environments/prod/approvals", elsewhere, "prod's approvals from another repository"
    )
    result = run_cli("audit", str(root), "--env", "prod", "--format", "json")
    found = {(d["code"], d["file"]) for d in json.loads(result.stdout)["diagnostics"]}
    assert found == {("G001", path) for path in PROD_APPROVALS}, result.stdout
    assert result.exit_code == 1


def test_an_approver_who_retrained_the_model_in_another_environment_cannot_approve_it(
    tmp_path: Path,
) -> None:
    """Trained in dev, approved in stg: the walk read stg and _shared only, so a change to dev's
    training job by the approver went unseen."""
    import json
    import shutil

    from tests.helpers.estate import PROJECT_ROOT

    root = tmp_path / "repo"
    shutil.copytree(PROJECT_ROOT / "examples/adapters/environments", root / "environments")
    shutil.copytree(PROJECT_ROOT / "examples/datasets", root / "examples/datasets")
    shutil.rmtree(root / "environments/dev/approvals")
    settings = (root / "environments/dev/environment.yaml").read_text()
    (root / "environments/stg").mkdir()
    (root / "environments/stg/environment.yaml").write_text(settings.replace("dev", "stg"))
    repo = init_repository(root)
    everything = sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".git" not in p.parts
    )
    commit_paths(repo, everything, "estate", CAROL)
    job = "environments/dev/training/support-sft.yaml"
    (root / job).write_text((root / job).read_text().replace("num_epochs: 2", "num_epochs: 3"))
    commit_paths(repo, [job], "retrain", ALICE)
    approved = run_cli(
        "approve", "support-sft@1.0", str(root), "--env", "stg", "--by", "alice", "--role", "admin"
    )
    assert approved.exit_code == 0, approved.stderr
    approvals = [str(p.relative_to(root)) for p in (root / "environments/stg/approvals").iterdir()]
    commit_paths(repo, approvals, "alice approves", ALICE)
    result = run_cli("audit", str(root), "--env", "stg", "--format", "json")
    found = [(d["code"], d["message"]) for d in json.loads(result.stdout)["diagnostics"]]
    assert [code for code, _ in found] == ["G002"], result.stdout
    assert "training job (support-sft)" in found[0][1]
