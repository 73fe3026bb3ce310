"""The refresh script against a real git repository standing in for upstream (file://, no
network)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from llmops.conformance.refresh import RefreshError, main, refresh
from llmops.conformance.sources import (
    Project,
    VendoredFile,
    git_blob_id,
    read_sources,
    sources_text,
    table_text,
)
from tests.helpers.estate import PROJECT_ROOT, write_files

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: widgets.example.io}}
spec:
  group: example.io
  names: {{kind: Widget, plural: widgets}}
  scope: Namespaced
  versions:
{versions}"""


def crd(*versions: str) -> str:
    return CRD.format(
        versions="".join(
            f"  - name: {v}\n    served: true\n    storage: {str(i == 0).lower()}\n"
            f"    schema: {{openAPIV3Schema: {{type: object}}}}\n"
            for i, v in enumerate(versions)
        )
    )


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=u", "-c", "user.email=u@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def upstream(tmp_path: Path) -> Path:
    """Tag v1 serves Widget v1; tag v2 also serves v2 and changes the licence."""
    repo = tmp_path / "upstream"
    write_files(repo, {"config/crd/widgets.yaml": crd("v1"), "LICENSE": "licence one\n"})
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "one")
    git(repo, "tag", "v1")
    write_files(repo, {"config/crd/widgets.yaml": crd("v1", "v2"), "LICENSE": "licence two\n"})
    git(repo, "commit", "-qam", "two")
    git(repo, "tag", "v2")
    git(repo, "commit", "-q", "--allow-empty", "-m", "after the tag")
    return repo


@pytest.fixture
def root(tmp_path: Path, upstream: Path) -> Path:
    """A conformance folder holding the v1 files, as sources.json records them."""
    folder = tmp_path / "conformance"
    v1 = crd("v1").encode()
    write_files(folder, {"crds/demo/widgets.yaml": v1, "crds/demo/LICENSE": b"licence one\n"})
    project = Project(
        "demo",
        upstream.as_uri(),
        "v1",
        git(upstream, "rev-parse", "v1"),
        "Apache-2.0",
        ["a note"],
        [
            VendoredFile(
                "crds/demo/widgets.yaml",
                "config/crd/widgets.yaml",
                git_blob_id(v1),
                ["example.io/v1 Widget"],
            ),
            VendoredFile("crds/demo/LICENSE", "LICENSE", git_blob_id(b"licence one\n")),
        ],
    )
    (folder / "sources.json").write_text(sources_text([project]), encoding="utf-8")
    return folder


def test_refresh_brings_files_commit_blobs_and_kinds_to_the_tag(root: Path, upstream: Path) -> None:
    changed = refresh(root, "demo", "v2")
    assert changed == ["crds/demo/widgets.yaml", "crds/demo/LICENSE"]
    (project,) = read_sources(root)
    assert (project.tag, project.commit) == ("v2", git(upstream, "rev-parse", "v2^{commit}"))
    assert project.notes == ["a note"]
    for entry in project.files:
        assert entry.blob == git(upstream, "rev-parse", f"v2:{entry.upstream}")
        assert entry.blob == git_blob_id((root / entry.path).read_bytes())
    assert project.files[0].kinds == ["example.io/v1 Widget", "example.io/v2 Widget"]
    assert (root / "crds/demo/LICENSE").read_text() == "licence two\n"
    assert (root / "SOURCES.md").read_text(encoding="utf-8") == table_text([project])


def test_a_path_the_tag_lacks_stops_the_refresh_before_anything_is_written(
    root: Path, upstream: Path
) -> None:
    git(upstream, "rm", "-q", "LICENSE")
    git(upstream, "commit", "-qm", "no licence")
    git(upstream, "tag", "v3")
    before = (root / "sources.json").read_text(encoding="utf-8")
    with pytest.raises(RefreshError, match="demo v3 has no LICENSE"):
        refresh(root, "demo", "v3")
    assert (root / "sources.json").read_text(encoding="utf-8") == before
    assert (root / "crds/demo/LICENSE").read_text() == "licence one\n"


def test_unknown_project_and_unknown_tag_are_errors(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["nope", "v1", "--root", str(root)]) == 1
    assert "no project 'nope' in sources.json (known: demo)" in capsys.readouterr().err
    assert main(["demo", "v9", "--root", str(root)]) == 1
    assert "git clone" in capsys.readouterr().err


def test_the_real_records_round_trip() -> None:
    """sources.json and SOURCES.md are exactly what the script writes, so a refresh changes only
    what moved."""
    folder = PROJECT_ROOT / "conformance"
    projects = read_sources(folder)
    assert (folder / "sources.json").read_text(encoding="utf-8") == sources_text(projects)
    assert (folder / "SOURCES.md").read_text(encoding="utf-8") == table_text(projects)
