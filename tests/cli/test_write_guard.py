"""No command writes or deletes outside the folder it works in, whatever links lie on the way:
approve, rollback and promote stay inside the estate, render -o inside DIR, init inside DIR, schema
inside its folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from compiler.errors import LlmopsError
from llmops.write_guard import confined_path
from tests.helpers.estate import copy_bundled_estate, run_cli, write_files
from tests.helpers.git_repo import assert_git_agrees, commit_all, git_cli, init_repository

DEV_ENDPOINT = "environments/dev/serving/example-model.yaml"


def contents(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "precious.txt").write_text("keep me\n", encoding="utf-8")
    return folder


def test_approve_never_writes_through_a_link_leaving_the_estate(
    tmp_path: Path, outside: Path
) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    approvals = estate / "environments/prod/approvals"
    for path in approvals.iterdir():
        path.unlink()
    approvals.rmdir()
    # as a committed link would be checked out
    approvals.symlink_to(outside, target_is_directory=True)
    result = run_cli(
        "approve",
        "example-base-model@1.0",
        "--env",
        "prod",
        "--by",
        "carol",
        "--role",
        "admin",
        str(estate),
    )
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "outside" in result.stderr and "internal error" not in result.stderr
    assert contents(outside) == {"precious.txt": b"keep me\n"}


def test_approve_never_replaces_a_file_behind_a_link(tmp_path: Path, outside: Path) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    target = estate / "environments/prod/approvals/example-base-model-1-0-alice.yaml"
    (outside / "alice.yaml").write_bytes(target.read_bytes())
    target.unlink()
    target.symlink_to(outside / "alice.yaml")
    before = contents(outside)
    result = run_cli(
        "approve",
        "example-base-model@1.0",
        "--env",
        "prod",
        "--by",
        "alice",
        "--role",
        "admin",
        "--notes",
        "again",
        str(estate),
    )
    assert result.exit_code == 2 and "outside" in result.stderr, result.stdout + result.stderr
    assert contents(outside) == before


def test_init_and_schema_stay_in_their_folder(tmp_path: Path, outside: Path) -> None:
    estate = tmp_path / "new"
    estate.mkdir()
    (estate / "environments").symlink_to(outside / "missing", target_is_directory=True)  # dangling
    result = run_cli("init", str(estate))
    assert result.exit_code == 2 and "already exists" in result.stderr
    assert contents(outside) == {"precious.txt": b"keep me\n"}

    schemas = tmp_path / "schemas"
    assert run_cli("schema", "--output", str(schemas)).exit_code == 0
    linked = schemas / "manifest.schema.json"
    linked.unlink()
    linked.symlink_to(outside / "precious.txt")
    result = run_cli("schema", "--output", str(schemas))
    assert result.exit_code == 2 and "outside" in result.stderr, result.stdout + result.stderr
    assert contents(outside) == {"precious.txt": b"keep me\n"}


def test_rollback_never_writes_through_a_committed_link(tmp_path: Path) -> None:
    root = copy_bundled_estate(tmp_path / "repo")
    repo = init_repository(root)
    write_files(root, {"docs/serving/.keep": ""})
    shared = root / "environments/_shared/serving/example-model.yaml"
    shared.parent.mkdir(parents=True)
    shared.write_text(
        (root / DEV_ENDPOINT).read_text().replace("  environment: dev\n", ""), encoding="utf-8"
    )
    (root / DEV_ENDPOINT).unlink()
    (root / "environments/dev/serving").rmdir()
    (root / "environments/dev/serving").symlink_to("../../docs/serving", target_is_directory=True)
    commit_all(repo, "dev uses the shared endpoint; its serving folder is a link")
    shared.write_text(
        shared.read_text().replace("maxReplicas: 3", "maxReplicas: 5"), encoding="utf-8"
    )
    commit_all(repo, "shared: five")
    head = git_cli(root, "rev-parse", "HEAD").stdout.strip()

    # Rolled back in dev alone, the endpoint would be mirrored to environments/dev/serving/, the
    # link.
    result = run_cli("rollback", "example-model", "--env", "dev", str(root))
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "environments/dev/serving` is a link" in result.stderr
    assert sorted(os.listdir(root / "docs/serving")) == [".keep"]
    assert git_cli(root, "rev-parse", "HEAD").stdout.strip() == head
    assert_git_agrees(root)


def test_promote_never_writes_through_a_committed_link(tmp_path: Path) -> None:
    root = copy_bundled_estate(tmp_path / "repo")
    repo = init_repository(root)
    text = (
        (root / DEV_ENDPOINT)
        .read_text()
        .replace("name: example-model", "name: chat")
        .replace("/serve/example-model", "/serve/chat")
    )
    write_files(root, {"docs/linked/.keep": "", "environments/dev/linked/chat.yaml": text})
    (root / "environments/stg/linked").symlink_to("../../docs/linked", target_is_directory=True)
    commit_all(repo, "dev: chat; stg's linked folder is a link")
    result = run_cli("promote", "chat", "--from", "dev", "--to", "stg", str(root))
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "environments/stg/linked` is a link" in result.stderr
    assert [head.name for head in repo.heads] == ["main"]
    assert_git_agrees(root)


@pytest.mark.parametrize("relative", ["../x", "a/../../x", "/etc/passwd", "", ".", "a/../b"])
def test_the_guard_refuses_paths_that_are_not_plain(tmp_path: Path, relative: str) -> None:
    with pytest.raises(LlmopsError, match="not a plain path"):
        confined_path(tmp_path, relative)


def test_the_guard_follows_every_link_on_the_way(tmp_path: Path, outside: Path) -> None:
    base = tmp_path / "base"
    (base / "inner").mkdir(parents=True)
    (base / "to-inner").symlink_to(base / "inner", target_is_directory=True)
    (base / "to-outside").symlink_to(outside, target_is_directory=True)
    (base / "dangling").symlink_to(outside / "nothing-yet")
    (base / "inner" / "up").symlink_to("../../outside", target_is_directory=True)
    assert confined_path(base, "to-inner/file.yaml") == base / "to-inner" / "file.yaml"
    assert confined_path(base, "new/folder/file.yaml") == base / "new" / "folder" / "file.yaml"
    for relative in ("to-outside/file.yaml", "dangling", "inner/up/file.yaml", "to-inner/up/x"):
        with pytest.raises(LlmopsError, match="outside"):
            confined_path(base, relative)


def test_init_and_schema_refuse_an_estate_s_environments_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What they would write there is read as the estate's manifests (a nested estate's examples
    are duplicates of dev's), as `render -o` refuses to write there."""
    estate = copy_bundled_estate(tmp_path / "estate")
    before = sorted(path.relative_to(estate) for path in estate.rglob("*"))
    nested = run_cli("init", str(estate / "environments" / "dev"))
    assert nested.exit_code == 2
    assert "cannot create an estate in" in nested.stderr
    assert "inside the estate's environments/ folder" in nested.stderr
    inside = run_cli("schema", "--output", str(estate / "environments" / "dev" / "schemas"))
    assert inside.exit_code == 2 and "cannot write schemas into" in inside.stderr
    assert sorted(path.relative_to(estate) for path in estate.rglob("*")) == before

    monkeypatch.chdir(estate / "environments" / "dev" / "serving")
    default = run_cli("schema")  # from deep in the estate: its schemas/, beside environments/
    assert default.exit_code == 0, default.stderr
    assert (estate / "schemas" / "manifest.schema.json").is_file()
    assert not (estate / "environments" / "dev" / "serving" / "schemas").exists()

    elsewhere = tmp_path / "estates" / "environments"  # a folder of estates, not an estate's
    elsewhere.mkdir(parents=True)
    assert run_cli("init", str(elsewhere / "team-a")).exit_code == 0


@pytest.mark.parametrize(
    "argv",
    [["render", "-o", ""], ["render", "-o", " "], ["init", ""], ["schema", "--output", ""]],
)
def test_an_empty_folder_name_is_refused_not_read_as_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    """`-o ''` rendered into the estate's own root, beside environments/."""
    estate = copy_bundled_estate(tmp_path / "estate")
    monkeypatch.chdir(estate)
    before = sorted(path.relative_to(estate) for path in estate.rglob("*"))
    result = run_cli(*argv)
    assert result.exit_code == 2
    assert "no folder to write into: the name given is empty" in result.stderr
    assert sorted(path.relative_to(estate) for path in estate.rglob("*")) == before


def test_dot_dots_climbing_out_are_named_as_such_not_as_a_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    monkeypatch.chdir(estate)
    result = run_cli("render", "-o", "out/../../x")
    assert result.exit_code == 2
    assert "its `..` lead out of" in result.stderr and "link" not in result.stderr
    assert not (tmp_path / "x").exists()
