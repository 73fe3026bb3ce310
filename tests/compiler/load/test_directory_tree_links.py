"""A checked-out repository answers every path as if each were resolved whole with `realpath`
(folders are resolved once and reused): links inside the repository are followed, links out of it,
broken links and link loops are refused or reported the same way, through `..` and `.` too."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from compiler.load.tree import DirectoryTree, FileProblem

PARTS = ("a", "b", "c", "inner", "file.yaml", "outside", "broken", "loop", "up", "..", ".", "")


class WholePathTree(DirectoryTree):
    """Resolves every path whole, as the tree did before folders were remembered."""

    def _real_path(self, path: str) -> str:
        return os.path.realpath(os.path.join(self._real_root, path))


def _answers(tree: DirectoryTree, path: str) -> tuple[object, object]:
    def ask(question: str) -> object:
        try:
            if question == "is_dir":
                return tree.is_dir(path)
            return tree.read_bytes(path, 1 << 20)
        except FileProblem as problem:
            return (problem.rule.code, problem.message)
        except OSError as error:  # NotADirectoryError and the like, raised the same way
            return type(error).__name__

    return ask("is_dir"), ask("read_bytes")


@pytest.mark.skipif(not hasattr(os, "symlink") or os.name != "posix", reason="POSIX links")
def test_every_path_gets_the_answer_of_a_path_resolved_whole(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "file.yaml").write_text("kind: Model\n", encoding="utf-8")
    (root / "c").mkdir()
    (root / "c" / "inner").symlink_to(root / "a")
    (root / "c" / "outside").symlink_to(tmp_path)
    (root / "c" / "broken").symlink_to("missing")
    (root / "c" / "loop").symlink_to("loop")
    (root / "c" / "up").symlink_to("..")
    (tmp_path / "file.yaml").write_text("secret\n", encoding="utf-8")
    remembered, whole = DirectoryTree(root), WholePathTree(root)
    for length in (1, 2, 3, 4):
        for parts in itertools.product(PARTS, repeat=length):
            path = "/".join(parts)
            assert _answers(remembered, path) == _answers(whole, path), path
