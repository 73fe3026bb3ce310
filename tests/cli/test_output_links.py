"""`render -o DIR` and `schema --output DIR` through a link: a relative DIR never leads out of the
folder it is relative to, an absolute DIR inside the estate never leads out of the estate; a place
the user names outside is written as named."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.estate import copy_bundled_estate, run_cli


@pytest.fixture
def estate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = copy_bundled_estate(tmp_path / "estate")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "victim.schema.json").write_text("{}\n", encoding="utf-8")
    return folder


def _untouched(outside: Path) -> bool:
    return [path.name for path in outside.iterdir()] == ["victim.schema.json"]


@pytest.mark.parametrize("given", ["out", "./out", "out/sub", "environments/../out"])
def test_render_refuses_a_relative_folder_that_a_link_leads_outside(
    estate: Path, outside: Path, given: str
) -> None:
    (estate / "out").symlink_to(outside, target_is_directory=True)
    result = run_cli("render", ".", "--env", "dev", "-o", given)
    assert result.exit_code == 2, result.stderr
    assert "(through a link)" in result.stderr
    assert _untouched(outside)


def test_render_refuses_a_relative_folder_below_a_parent_link(
    estate: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (estate / "out").symlink_to(outside, target_is_directory=True)
    monkeypatch.chdir(estate / "environments")
    result = run_cli("render", "..", "--env", "dev", "-o", "../out")
    assert result.exit_code == 2 and "(through a link)" in result.stderr
    assert _untouched(outside)


def test_render_refuses_an_absolute_folder_in_the_estate_that_a_link_leads_outside(
    estate: Path, outside: Path
) -> None:
    (estate / "out").symlink_to(outside, target_is_directory=True)
    result = run_cli("render", str(estate), "--env", "dev", "-o", str(estate / "out"))
    assert result.exit_code == 2 and "inside the estate but leads to" in result.stderr
    assert _untouched(outside)


def test_render_writes_where_the_user_names_and_through_links_that_stay_inside(
    estate: Path, outside: Path
) -> None:
    assert run_cli("render", ".", "--env", "dev", "-o", str(outside)).exit_code == 0
    assert (outside / "dev" / "kustomization.yaml").is_file()
    (estate / "build").mkdir()
    (estate / "out").symlink_to(estate / "build", target_is_directory=True)
    assert run_cli("render", ".", "--env", "dev", "-o", "out").exit_code == 0
    assert (estate / "build" / "dev" / "kustomization.yaml").is_file()


def test_schema_refuses_a_folder_that_a_link_leads_outside(estate: Path, outside: Path) -> None:
    (estate / "schemas").symlink_to(outside, target_is_directory=True)
    result = run_cli("schema")
    assert result.exit_code == 2 and "(through a link)" in result.stderr
    assert _untouched(outside), "nothing written, the stale victim not deleted"
    assert run_cli("schema", "--output", str(outside)).exit_code == 0  # named as it is: written
    assert not (outside / "victim.schema.json").exists()


def test_init_refuses_a_folder_that_a_link_leads_outside(
    tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "estate").symlink_to(outside, target_is_directory=True)
    monkeypatch.chdir(work)
    result = run_cli("init", "estate")
    assert result.exit_code == 2 and "(through a link)" in result.stderr
    assert _untouched(outside)
    assert run_cli("init", str(outside)).exit_code == 0  # named as it is: created there
