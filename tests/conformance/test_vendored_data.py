"""The vendored upstream files are unmodified, all accounted for, and described as they are.

sources.json records each file's git blob id at the upstream tag; recomputing it proves the copy is
byte-identical. SOURCES.md is generated from sources.json, and the kinds it lists are what the CRD
files really serve (the checker finds a kind's CRD through that list).
"""

from __future__ import annotations

import subprocess

import yaml

from llmops.conformance.sources import (
    SOURCES_FILE,
    TABLE_FILE,
    git_blob_id,
    read_sources,
    table_text,
)
from tests.helpers.estate import PROJECT_ROOT

ROOT = PROJECT_ROOT / "conformance"
PROJECTS = read_sources(ROOT)


def test_every_vendored_file_is_byte_identical_to_upstream() -> None:
    changed = [
        entry.path
        for project in PROJECTS
        for entry in project.files
        if git_blob_id((ROOT / entry.path).read_bytes()) != entry.blob
    ]
    assert changed == []


def test_blob_ids_are_what_git_computes() -> None:
    """Our blob id function agrees with `git hash-object`, so the check above means what it says."""
    entry = PROJECTS[0].files[0]
    done = subprocess.run(
        ["git", "hash-object", str(ROOT / entry.path)], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == git_blob_id((ROOT / entry.path).read_bytes()) == entry.blob


def test_every_file_in_the_folder_has_a_source() -> None:
    listed = {entry.path for project in PROJECTS for entry in project.files}
    present = {path.relative_to(ROOT).as_posix() for path in ROOT.rglob("*") if path.is_file()}
    assert present - listed == {SOURCES_FILE, TABLE_FILE}
    assert listed - present == set()


def test_each_project_carries_its_licence_and_a_full_commit() -> None:
    for project in PROJECTS:
        assert any(
            entry.path == f"crds/{project.name}/LICENSE" and entry.upstream == "LICENSE"
            for entry in project.files
        ), project.name
        assert len(project.commit) == 40 and project.tag and project.license == "Apache-2.0"


def test_the_table_is_generated_from_sources_json() -> None:
    assert (ROOT / TABLE_FILE).read_text(encoding="utf-8") == table_text(PROJECTS)


def test_listed_kinds_are_the_served_versions_of_each_crd() -> None:
    for project in PROJECTS:
        for entry in project.files:
            if not (entry.path.startswith("crds/") and entry.path.endswith(".yaml")):
                assert entry.kinds == [], entry.path
                continue
            served = []
            for crd in yaml.load_all(
                (ROOT / entry.path).read_text(encoding="utf-8"), Loader=yaml.CSafeLoader
            ):
                spec = crd["spec"]
                served += [
                    f"{spec['group']}/{version['name']} {spec['names']['kind']}"
                    for version in spec["versions"]
                    if version.get("served")
                ]
            assert entry.kinds == served, entry.path
