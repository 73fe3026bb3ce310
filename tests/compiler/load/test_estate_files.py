"""Reading files: size, encoding, links and paths that leave the repository never crash the
loader."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from compiler.errors import LlmopsError
from compiler.load.estate import MAX_MANIFEST_BYTES, load_estate
from compiler.load.tree import DirectoryTree, FileProblem, normalize_repo_path
from tests.helpers.estate import run_cli, write_files


def diagnostics_of(root: Path) -> list[tuple[str, str, int, int]]:
    loaded = load_estate(DirectoryTree(root))
    return [(d.code, d.span.file, d.span.line, d.span.column) for d in loaded.diagnostics]


def test_non_utf8_bytes_give_the_line_and_column(tmp_path: Path) -> None:
    write_files(tmp_path, {"environments/dev/a.yaml": b"kind: Model\nname: caf\xe9\n"})
    assert diagnostics_of(tmp_path) == [("Y008", "environments/dev/a.yaml", 2, 10)]


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    write_files(tmp_path, {"environments/dev/a.yaml": b"\xef\xbb\xbfa: 1\n"})
    assert diagnostics_of(tmp_path) == []


def test_oversized_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    write_files(tmp_path, {"environments/dev/big.yaml": b"#" * (MAX_MANIFEST_BYTES + 1)})
    assert diagnostics_of(tmp_path) == [("Y007", "environments/dev/big.yaml", 1, 1)]
    # one byte over: rounded alone, both sizes read "1.0 MiB"
    said = run_cli("validate", str(tmp_path)).stdout
    assert "the file is 1,048,577 bytes (1.0 MiB); the limit is 1,048,576 bytes (1.0 MiB)" in said


def test_symlink_leaving_the_repository_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("a: 1\n")
    root = write_files(tmp_path / "repo", {"environments/dev/ok.yaml": "a: 1\n"})
    os.symlink(outside, root / "environments/dev/link.yaml")
    os.symlink(tmp_path, root / "environments/dev/linked-dir")
    found = diagnostics_of(root)
    assert ("Y012", "environments/dev/link.yaml", 1, 1) in found
    assert ("Y012", "environments/dev/linked-dir", 1, 1) in found


@pytest.mark.parametrize("folder", ["qa", "_shared"])
def test_an_environment_folder_linked_from_outside_is_y012_not_skipped(
    tmp_path: Path, folder: str
) -> None:
    outside = write_files(tmp_path / "elsewhere", {"qa/environment.yaml": "a: 1\n"})
    root = write_files(tmp_path / "repo", {"environments/dev/ok.yaml": "a: 1\n"})
    os.symlink(outside / "qa", root / "environments" / folder)
    assert diagnostics_of(root) == [("Y012", f"environments/{folder}", 1, 1)]
    if folder == "qa":  # asked for by name, it is the same diagnostic, not "no such environment"
        loaded = load_estate(DirectoryTree(root), "qa")
        assert [(d.code, d.span.file) for d in loaded.diagnostics] == [("Y012", "environments/qa")]
        assert loaded.files == {}
    # another environment asked for by name does not carry the link's problem (except _shared's)
    expected = [("Y012", "environments/_shared")] if folder == "_shared" else []
    assert [
        (d.code, d.span.file) for d in load_estate(DirectoryTree(root), "dev").diagnostics
    ] == expected


def test_a_linked_environment_fails_validation_from_the_command_line(tmp_path: Path) -> None:
    outside = write_files(tmp_path / "elsewhere", {"qa/environment.yaml": "a: 1\n"})
    root = write_files(tmp_path / "repo", {"environments/dev/ok.yaml": "a: 1\n"})
    os.symlink(outside / "qa", root / "environments" / "qa")
    for argv in ((str(root),), (str(root), "--env", "qa")):
        result = run_cli("validate", *argv)
        assert result.exit_code == 1
        assert "environments/qa:1:1: error[Y012]" in result.stdout


def test_symlink_inside_the_repository_is_followed(tmp_path: Path) -> None:
    root = write_files(tmp_path, {"shared/model.yaml": "a: 1\n", "environments/dev/.keep": ""})
    os.symlink(root / "shared/model.yaml", root / "environments/dev/model.yaml")
    loaded = load_estate(DirectoryTree(root))
    assert loaded.diagnostics == []
    assert list(loaded.files) == ["environments/dev/model.yaml"]


def test_only_yaml_files_under_environments_are_read(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "environments/dev/a.yaml": "a: 1\n",
            "environments/dev/b.yml": "b: 1\n",
            "environments/dev/README.md": "# notes\n",
            "environments/dev/.hidden.yaml": "x: [",
            "environments/_notes/c.yaml": "c: [",
        },
    )
    loaded = load_estate(DirectoryTree(tmp_path))
    assert sorted(loaded.files) == ["environments/dev/a.yaml", "environments/dev/b.yml"]
    assert loaded.environments == ["dev"]


def test_missing_environments_directory_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(LlmopsError, match="not an llmops estate"):
        load_estate(DirectoryTree(tmp_path))


def test_unknown_environment_lists_the_known_ones(tmp_path: Path) -> None:
    write_files(
        tmp_path, {"environments/dev/a.yaml": "a: 1\n", "environments/prod/a.yaml": "a: 1\n"}
    )
    with pytest.raises(LlmopsError, match=r"`qa` does not exist \(environments: dev, prod\)"):
        load_estate(DirectoryTree(tmp_path), "qa")


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "../secrets.csv", "data/../../x.csv", "C:\\data.csv", ""]
)
def test_paths_that_escape_are_refused(path: str) -> None:
    with pytest.raises(FileProblem):
        normalize_repo_path(path)


def test_relative_paths_are_normalized() -> None:
    assert normalize_repo_path("./examples//datasets/a.csv") == "examples/datasets/a.csv"
