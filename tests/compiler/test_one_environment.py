"""`validate --env prod` (and `render --env prod`) read `_shared` once, yet still judge prod's
promotion policy against stg, which is resolved with the same shared catalog."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from compiler.load.tree import DirectoryTree
from compiler.pipeline import validate_repository
from tests.helpers.estate import codes, copy_bundled_estate

STG_APPROVAL = "environments/stg/approvals/example-base-model-1-0-admin.yaml"
STG_ENDPOINT = "environments/stg/serving/example-model.yaml"


class CountingTree(DirectoryTree):
    """The working tree, counting how often each file is read."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.reads: Counter[str] = Counter()

    def read_bytes(self, path: str, limit: int) -> bytes:
        self.reads[path] += 1
        return super().read_bytes(path, limit)


def test_one_environment_reads_every_shared_file_once(tmp_path: Path) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    tree = CountingTree(estate)
    result = validate_repository(tree, "prod")
    assert result.diagnostics == []
    shared = [path for path in tree.reads if path.startswith("environments/_shared/")]
    assert shared, "the bundled estate has a shared catalog"
    assert {path: tree.reads[path] for path in shared} == dict.fromkeys(shared, 1)
    # stg was read too: it is what prod's promotion policy is judged against
    assert any(path.startswith("environments/stg/") for path in tree.reads)


def test_one_environment_still_sees_what_the_required_one_serves(tmp_path: Path) -> None:
    """stg's endpoint serves a model from the shared catalog, which stg approves; without the
    endpoint and the approval prod serves what stg neither serves nor approves (P012), with them
    prod is clean."""
    estate = copy_bundled_estate(tmp_path / "estate")
    assert codes(validate_repository(DirectoryTree(estate), "prod").diagnostics) == []
    (estate / STG_ENDPOINT).unlink()
    (estate / STG_APPROVAL).unlink()
    assert "P012" in codes(validate_repository(DirectoryTree(estate), "prod").diagnostics)
