"""The suite needs nothing beside the repository: a clone alone is enough (issue: a clean clone is
enough).

Two proofs. In this process, conftest.py's audit hook refuses any open or listing beside the
repository (CI's clone has ../shared beside it; a user's has nothing). And the tests that use
vendored data and the packaging run again in a fresh `git clone` of HEAD inside an otherwise empty
temporary folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import REPOSITORY

# Tests that read the vendored upstream data, build and install the wheel, or render and verify.
IN_A_LONELY_CLONE = [
    "tests/conformance",
    "tests/deploy/test_packaging.py",
    "tests/deploy/test_inferenceservice_health.py",
    "tests/compiler/render/test_conformance.py",
]


def test_reading_beside_the_repository_is_refused() -> None:
    beside = REPOSITORY.parent / "shared" / "conformance" / "check.py"
    with pytest.raises(PermissionError, match="a test read outside the repository"):
        beside.read_text(encoding="utf-8")
    with pytest.raises(PermissionError, match="a test read outside the repository"):
        os.listdir(REPOSITORY.parent / "shared")


def test_reading_inside_the_repository_and_temporary_folders_is_allowed(tmp_path: Path) -> None:
    assert (REPOSITORY / "README.md").read_text(encoding="utf-8")
    (tmp_path / "x").write_text("x", encoding="utf-8")
    assert os.listdir(tmp_path) == ["x"]


@pytest.mark.slow
def test_the_data_tests_pass_in_a_clone_with_nothing_beside_it(tmp_path: Path) -> None:
    """HEAD (what `git clone` gives a user) in tmp/lonely/repo; the same interpreter, the clone's
    own code."""
    clone = tmp_path / "lonely" / "repo"
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(REPOSITORY), str(clone)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert sorted(os.listdir(clone.parent)) == ["repo"]
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST", "PYTHONPATH"))
    }
    # the clone's compiler/ and llmops/, not this checkout's editable install
    env["PYTHONPATH"] = str(clone)
    probe = subprocess.run(
        [sys.executable, "-c", "import llmops, compiler; print(llmops.__file__)"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert Path(probe.stdout.strip()).is_relative_to(clone)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *IN_A_LONELY_CLONE],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (
        " passed" in done.stdout.splitlines()[-1] and "skipped" not in done.stdout.splitlines()[-1]
    )


def test_the_refusal_holds_for_a_clone_in_the_temporary_folder_itself() -> None:
    """`git clone ... /tmp/x`: everything in /tmp is beside the clone, yet the tests' own temporary
    files work."""
    clone = Path(tempfile.mkdtemp(prefix="llmops-clone-"))
    try:
        subprocess.run(
            ["git", "clone", "--quiet", str(REPOSITORY), str(clone)],
            check=True,
            capture_output=True,
            timeout=300,
        )
        assert clone.parent == Path(tempfile.gettempdir()).resolve()
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PYTEST", "PYTHONPATH"))
        }
        env["PYTHONPATH"] = str(clone)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "tests/test_self_contained.py::test_reading_beside_the_repository_is_refused",
                "tests/test_self_contained.py::test_reading_inside_the_repository_and_temporary_"
                "folders_is_allowed",
                "tests/conformance/test_refresh.py",
            ],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    finally:
        shutil.rmtree(clone, ignore_errors=True)
