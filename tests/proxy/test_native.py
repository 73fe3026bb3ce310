"""The proxy's compiled hot path (llmops/proxy/native.py): used only when a whole build, made from
the sources as they are for this Python, is there, so an edited module is never shadowed by an
older build and a broken build never hangs or crashes the proxy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from llmops.proxy import native

MODULES = ("front", "jsonbody")
# read before any test unsets it: `make test` runs the proxy's tests again with the build off
SWITCHED_OFF = os.environ.get(native.SWITCH, "").strip().lower() in native.OFF


@pytest.fixture(autouse=True)
def _switch_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(native.SWITCH, raising=False)


def _package(tmp_path: Path) -> Path:
    package = tmp_path / "proxy"
    package.mkdir()
    (package / "front.py").write_text("ANSWER = 1\n")
    (package / "jsonbody.py").write_text("ANSWER = 2\n")
    return package


def _built(package: Path) -> Path:
    """A build as native_build leaves it (files standing in for the modules)."""
    folder = package / "_compiled"
    folder.mkdir()
    for index, name in enumerate(native.built_files(MODULES)):
        (folder / name).write_bytes(b"\0" * (100 + index))
    stamp = native.source_stamp(package) + native.built_stamp(folder, MODULES)
    (folder / native.STAMP).write_text(stamp)
    return folder


def _state(package: Path) -> tuple[Path | None, str]:
    return native.compiled_dir(package, MODULES)


def test_a_whole_build_from_these_sources_is_searched_first(tmp_path: Path) -> None:
    package = _package(tmp_path)
    folder = _built(package)
    assert _state(package) == (folder, "compiled with mypyc")


def test_an_edit_to_any_source_leaves_the_build_unused(tmp_path: Path) -> None:
    package = _package(tmp_path)
    _built(package)
    (package / "jsonbody.py").write_text("ANSWER = 3\n")
    assert _state(package) == (None, "built from other sources")
    (package / "jsonbody.py").write_text("ANSWER = 2\n")
    assert _state(package)[0] is not None
    (package / "new_module.py").write_text("")  # not even a compiled one
    assert _state(package) == (None, "built from other sources")


def test_an_editors_lock_or_a_folder_is_no_source(tmp_path: Path) -> None:
    """Emacs keeps `.#name.py`, a link to nowhere, while a buffer has unsaved edits."""
    package = _package(tmp_path)
    folder = _built(package)
    (package / ".#front.py").symlink_to("user@host.1234:1700000000")
    (package / "odd.py").mkdir()
    assert _state(package) == (folder, "compiled with mypyc")


def test_a_build_missing_a_module_or_cut_short_is_not_used(tmp_path: Path) -> None:
    """One module missing left every request on the proxy's own server hanging; one cut short
    crashed the process."""
    package = _package(tmp_path)
    folder = _built(package)
    front, shared = (
        folder / name for name in native.built_files(MODULES) if "jsonbody" not in name
    )
    front.unlink()
    assert _state(package) == (None, "built for another Python, or incomplete")
    front.write_bytes(b"\0" * 99)
    assert _state(package) == (None, "built for another Python, or incomplete")
    front.write_bytes(b"\0" * 100)
    assert _state(package)[0] is not None
    shared.write_bytes(b"")
    assert _state(package)[0] is None


def test_a_build_for_another_python_is_not_used(tmp_path: Path) -> None:
    package = _package(tmp_path)
    folder = _built(package)
    for path in folder.glob("*.so"):
        path.rename(path.with_name(path.name.replace("311", "312")))
    stamp = (folder / native.STAMP).read_text().replace("311", "312")
    (folder / native.STAMP).write_text(stamp)
    assert _state(package) == (None, "built for another Python, or incomplete")


@pytest.mark.parametrize("stamp", [None, b"\xff\xfe", b""])
def test_no_stamp_or_a_broken_one_means_the_sources(tmp_path: Path, stamp: bytes | None) -> None:
    package = _package(tmp_path)
    folder = _built(package)
    if stamp is None:
        (folder / native.STAMP).unlink()
    else:
        (folder / native.STAMP).write_bytes(stamp)
    assert _state(package)[0] is None


@pytest.mark.parametrize("value", ["0", "false", "No", " off "])
def test_the_switch_turns_the_build_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    package = _package(tmp_path)
    _built(package)
    monkeypatch.setenv(native.SWITCH, value)
    assert _state(package) == (None, f"{native.SWITCH}={value}")


def _front_file(switch: str | None) -> str:
    env = {key: value for key, value in os.environ.items() if key != native.SWITCH}
    if switch is not None:
        env[native.SWITCH] = switch
    code = "from llmops.proxy import front; print(front.__file__)"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_suite_runs_the_compiled_hot_path() -> None:
    """`make test` builds it first: the proxy tests then check what `make bench-proxy` measures."""
    if SWITCHED_OFF:
        pytest.skip(f"{native.SWITCH} is off: the run is of the sources")
    assert native.in_use(), (
        f"the proxy's hot path is not compiled: {native.describe()}; run `make native`, or "
        "`make test`, which runs it"
    )
    assert native.describe() == "compiled with mypyc"
    assert _front_file(None).endswith(".so")
    assert _front_file("0") == str(native.PACKAGE_DIR / "front.py")


def test_every_compiled_module_is_one_of_the_package() -> None:
    for name in native.COMPILED:
        assert (native.PACKAGE_DIR / f"{name}.py").is_file(), name
