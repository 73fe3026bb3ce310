"""The proxy's compiled hot path (llmops/proxy/native.py): used only when built from the sources as
they are, so an edited module is never shadowed by an older build."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from llmops.proxy import native


def _package(tmp_path: Path) -> Path:
    package = tmp_path / "proxy"
    package.mkdir()
    (package / "front.py").write_text("ANSWER = 1\n")
    (package / "jsonbody.py").write_text("ANSWER = 2\n")
    return package


def _built(package: Path) -> Path:
    folder = package / "_compiled"
    folder.mkdir()
    (folder / native.STAMP).write_text(native.source_stamp(package))
    return folder


def test_a_build_from_these_sources_is_searched_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(native.SWITCH, raising=False)
    package = _package(tmp_path)
    folder = _built(package)
    assert native.compiled_dir(package) == (folder, "compiled with mypyc")


def test_an_edit_to_any_source_leaves_the_build_unused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(native.SWITCH, raising=False)
    package = _package(tmp_path)
    _built(package)
    (package / "jsonbody.py").write_text("ANSWER = 3\n")  # not even a compiled module's
    assert native.compiled_dir(package) == (None, "built from other sources (make native)")
    (package / "jsonbody.py").write_text("ANSWER = 2\n")
    (package / "new_module.py").write_text("")
    assert native.compiled_dir(package)[0] is None


def test_no_build_or_the_switch_off_means_the_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(native.SWITCH, raising=False)
    package = _package(tmp_path)
    assert native.compiled_dir(package) == (None, "not built (make native)")
    _built(package)
    monkeypatch.setenv(native.SWITCH, "0")
    assert native.compiled_dir(package) == (None, f"{native.SWITCH}=0")


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
    from llmops.proxy import COMPILED_STATE

    if os.environ.get(native.SWITCH) == "0":
        pytest.skip(f"{native.SWITCH}=0: the run is of the sources")
    assert native.in_use(), (
        f"the proxy's hot path is not compiled ({COMPILED_STATE}): run `make native`, or `make "
        "test`, which builds it"
    )
    assert _front_file(None).endswith(".so")
    assert _front_file("0") == str(native.PACKAGE_DIR / "front.py")


def test_every_compiled_module_is_one_of_the_package() -> None:
    for name in native.COMPILED:
        assert (native.PACKAGE_DIR / f"{name}.py").is_file(), name
