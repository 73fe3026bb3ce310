"""An edit is validated on an overlay of the repository before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.load.overlay import OverlayTree
from compiler.load.tree import DirectoryTree, FileProblem
from tests.helpers.estate import write_files


def test_overlay_adds_replaces_and_deletes_without_touching_the_base(tmp_path: Path) -> None:
    write_files(
        tmp_path, {"environments/dev/a.yaml": "a: 1\n", "environments/dev/b.yaml": "b: 1\n"}
    )
    tree = OverlayTree(
        DirectoryTree(tmp_path),
        {
            "environments/dev/a.yaml": b"a: 2\n",
            "environments/dev/b.yaml": None,
            "environments/prod/new/c.yaml": b"c: 1\n",
        },
    )
    assert tree.list_dir("environments") == ["dev", "prod"]
    assert tree.is_dir("environments/prod/new")
    assert tree.walk_files("environments/dev") == (["environments/dev/a.yaml"], [])
    assert tree.walk_files("environments")[0] == [
        "environments/dev/a.yaml",
        "environments/prod/new/c.yaml",
    ]
    assert tree.read_bytes("environments/dev/a.yaml", 100) == b"a: 2\n"
    with pytest.raises(FileProblem):
        tree.read_bytes("environments/dev/b.yaml", 100)
    with pytest.raises(FileProblem):
        tree.read_bytes("environments/prod/new/c.yaml", 2)
    assert (tmp_path / "environments/dev/b.yaml").read_text() == "b: 1\n"
