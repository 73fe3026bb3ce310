"""llmops/render_output.py: what `render -o` leaves on disk, and that a failure leaves nothing
half-written."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import llmops.render_output as render_output
from compiler.errors import LlmopsError
from llmops.render_output import OutputPlan, compare_output, write_output
from llmops.render_record import RECORD_FILE, digest, read_record

GROUPS = {
    "dev": {f"v1_configmap_c{index}.yaml": f"index: {index}\ntext: é\n" for index in range(40)},
    "prod": {"a.yaml": "a: 1\n", "b.yaml": "b: 2\n", "kustomization.yaml": "resources: []\n"},
}


def plan_of(groups: dict[str, dict[str, str]]) -> OutputPlan:
    files = {
        f"{group}/{name}": text
        for group, members in groups.items()
        for name, text in members.items()
    }
    return OutputPlan(files=files, directories=list(groups))


def tree(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_new_and_existing_directories_end_exactly_as_planned(tmp_path: Path) -> None:
    write_output(
        tmp_path, plan_of({"prod": {"a.yaml": "a: 1\n", "b.yaml": "b: old\n", "gone.yaml": "x\n"}})
    )
    (tmp_path / "prod" / "notes.txt").write_text("kept\n")  # not ours: left alone
    (tmp_path / "prod" / "mine.yaml").write_text("mine\n")  # not ours: left alone
    difference = write_output(tmp_path, plan_of(GROUPS))
    assert difference.changed == ["prod/b.yaml"]
    assert difference.stale == ["prod/gone.yaml"]  # written by llmops, no longer planned: removed
    assert difference.foreign == ["prod/mine.yaml"]
    assert len(difference.missing) == 41  # 40 in the new dev directory, prod's index
    expected = {**plan_of(GROUPS).files, "prod/notes.txt": "kept\n", "prod/mine.yaml": "mine\n"}
    assert {path: text for path, text in tree(tmp_path).items() if path != RECORD_FILE} == expected
    assert read_record(tmp_path) == {
        path: digest(text.encode()) for path, text in plan_of(GROUPS).files.items()
    }
    assert [path.name for path in tmp_path.rglob(".*")] == [RECORD_FILE], (
        "no temporary files or directories"
    )
    assert not compare_output(tmp_path, plan_of(GROUPS)).any


def test_a_failure_in_a_new_directory_leaves_no_part_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[str] = []
    real_write = render_output._write_new_file

    def fail_on_the_tenth(path: str, data: bytes) -> None:
        if len(written) == 9:
            raise OSError(28, "No space left on device")
        written.append(path)
        real_write(path, data)

    monkeypatch.setattr(render_output, "_write_new_file", fail_on_the_tenth)
    with pytest.raises(LlmopsError, match="No space left on device; some files there may be"):
        write_output(tmp_path, plan_of({"dev": GROUPS["dev"]}))
    assert [path.name for path in tmp_path.iterdir()] == [RECORD_FILE], (
        "neither dev/ nor its staging directory"
    )


def test_files_written_with_crlf_line_ends_still_count_as_up_to_date(tmp_path: Path) -> None:
    write_output(tmp_path, plan_of({"prod": GROUPS["prod"]}))
    (tmp_path / "prod" / "a.yaml").write_bytes(b"a: 1\r\n")  # a checkout with autocrlf
    assert not compare_output(tmp_path, plan_of({"prod": GROUPS["prod"]})).any


NAMES = ["a.yaml", "b.yaml", "kustomization.yaml", "mine.yaml", "old.yaml", "notes.txt"]
PLANNED = {
    "prod/a.yaml": "a: 1\n",
    "prod/b.yaml": "b: 2\n",
    "prod/kustomization.yaml": "resources: []\n",
}


@st.composite
def existing_output(draw: st.DrawFn) -> tuple[dict[str, str], dict[str, str], set[str]]:
    """Files already in DIR/prod, which of them the record lists (with the right or a wrong digest),
    and which are links to a file outside DIR."""
    files = draw(
        st.dictionaries(
            st.sampled_from(NAMES).map(lambda name: f"prod/{name}"),
            st.sampled_from(["a: 1\n", "b: 2\n", "b: old\n", "x\n", "resources: []\n"]),
            max_size=6,
        )
    )
    record = {
        path: digest(text.encode()) if draw(st.booleans()) else digest(b"something else")
        for path, text in files.items()
        if draw(st.booleans())
    }
    record.update({"prod/../escape.yaml": digest(b"victim\n")} if draw(st.booleans()) else {})
    links = {path for path in files if draw(st.integers(0, 4)) == 0}
    return files, record, links


@settings(max_examples=150, deadline=None)
@given(existing_output())
def test_render_never_overwrites_or_removes_what_it_cannot_prove_it_wrote(
    state: tuple[dict[str, str], dict[str, str], set[str]],
) -> None:
    files, record, links = state
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        root, victim = base / "out", base / "victim.yaml"
        victim.write_text("victim\n")
        (root / "prod").mkdir(parents=True)
        for relative, text in files.items():
            if relative in links:
                (root / relative).symlink_to(victim)
            else:
                (root / relative).write_text(text)
        (root / RECORD_FILE).write_text(json.dumps({"version": 1, "files": record}))
        before = {
            relative: (root / relative).read_text() for relative in files if relative not in links
        }
        try:
            write_output(
                root,
                plan_of({"prod": {name.split("/")[1]: text for name, text in PLANNED.items()}}),
            )
            refused = False
        except LlmopsError:
            refused = True
        assert victim.read_text() == "victim\n"
        for relative, text in before.items():
            provably_ours = relative in record and record[relative] == digest(text.encode())
            if refused:
                assert (root / relative).read_text() == text
            elif relative in PLANNED:
                assert (root / relative).read_text() == PLANNED[relative]
                # overwritten only when llmops wrote it
                assert text == PLANNED[relative] or relative in record
            elif not provably_ours:
                assert (root / relative).read_text() == text  # never removed
        assert refused == any(
            relative in PLANNED
            and (
                relative in links
                or (relative not in record and before[relative] != PLANNED[relative])
            )
            for relative in files
        )


def whole_plan_of(groups: dict[str, dict[str, str]]) -> OutputPlan:
    plan = plan_of(groups)
    plan.whole = True
    return plan


def test_a_whole_render_prunes_the_folders_it_no_longer_renders(tmp_path: Path) -> None:
    before = {
        **GROUPS,
        "stg": {"s.yaml": "s: 1\n", "t.yaml": "t: 1\n"},
        "_argocd": {"a.yaml": "a\n"},
    }
    write_output(tmp_path, whole_plan_of(before))
    (tmp_path / "stg" / "t.yaml").write_text("t: mine\n")  # changed since written: kept
    (tmp_path / "stg" / "notes.txt").write_text("mine\n")
    assert compare_output(tmp_path, whole_plan_of(GROUPS)).stale == ["_argocd/a.yaml", "stg/s.yaml"]
    difference = write_output(tmp_path, whole_plan_of(GROUPS))
    assert (difference.stale, difference.kept) == (["_argocd/a.yaml", "stg/s.yaml"], ["stg/t.yaml"])
    assert not (tmp_path / "_argocd").exists()  # emptied: removed
    assert sorted(path.name for path in (tmp_path / "stg").iterdir()) == ["notes.txt", "t.yaml"]
    assert read_record(tmp_path).keys() == plan_of(GROUPS).files.keys()  # no longer claimed
    assert not compare_output(tmp_path, whole_plan_of(GROUPS)).any


def test_one_environment_s_render_leaves_the_other_folders_alone(tmp_path: Path) -> None:
    write_output(tmp_path, whole_plan_of(GROUPS))
    before = tree(tmp_path)
    only_dev = {"dev": GROUPS["dev"]}
    assert not compare_output(tmp_path, plan_of(only_dev)).any
    difference = write_output(tmp_path, plan_of(only_dev))
    assert not difference.stale and tree(tmp_path) == before
    assert read_record(tmp_path).keys() == plan_of(GROUPS).files.keys()  # prod's still claimed


def test_rendered_files_are_created_as_the_umask_allows(tmp_path: Path) -> None:
    import os

    previous = os.umask(0o022)
    try:
        write_output(tmp_path / "new", plan_of(GROUPS))  # new folders: written whole
        write_output(tmp_path / "new", plan_of({"dev": {"x.yaml": "x: 1\n"}}))  # into one there
    finally:
        os.umask(previous)
    modes = {
        path.stat().st_mode & 0o777 for path in (tmp_path / "new").rglob("*") if path.is_file()
    }
    assert modes == {0o644}  # readable by the CI user, kubectl and Argo CD, as git would check out


def test_a_rendered_folder_that_is_a_link_is_refused_even_inside(tmp_path: Path) -> None:
    """`out/stg -> prod` stays inside `out`, but stg's objects would overwrite prod's."""
    groups = {**GROUPS, "stg": {"a.yaml": "a: 1\n"}}  # the same text as prod's a.yaml
    write_output(tmp_path, whole_plan_of(groups))
    render_output._remove_tree(tmp_path / "stg")
    (tmp_path / "stg").symlink_to("prod", target_is_directory=True)
    before = tree(tmp_path)
    for attempt in (write_output, compare_output):
        with pytest.raises(LlmopsError, match="stg is a link"):
            attempt(tmp_path, whole_plan_of(groups))
    assert tree(tmp_path) == before
    # a whole render no longer writing stg prunes nothing through the link either
    write_output(tmp_path, whole_plan_of(GROUPS))
    assert (tmp_path / "prod" / "a.yaml").read_text() == "a: 1\n"
