"""Files llmops reads that are not what they claim: `render -o`'s record as a FIFO, a link, a
folder, too large, or JSON nested deeper than the parser goes; a proxy configuration nested too
deeply. Each is a usage error or a record llmops did not write, never a hang or a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import llmops.render_record as render_record
from llmops.render_record import RECORD_FILE
from tests.helpers.estate import copy_bundled_estate, run_cli

DEEP_ARRAY = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 100_000 + "1" + "}" * 100_000


@pytest.fixture
def rendered(tmp_path: Path) -> tuple[Path, Path]:
    """An estate, and an output folder it was rendered into once."""
    estate = copy_bundled_estate(tmp_path / "estate")
    out = tmp_path / "out"
    assert run_cli("render", str(estate), "--env", "dev", "-o", str(out)).exit_code == 0
    return estate, out


def _render_in_a_process(estate: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """In a child process with a deadline: a read that blocks must fail the test, not hang it."""
    command = [sys.executable, "-m", "llmops.cli.main", "render", str(estate), "--env", "dev", "-o"]
    return subprocess.run(
        [*command, str(out), *extra], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("check", [False, True])
def test_a_fifo_record_is_refused_not_read(rendered: tuple[Path, Path], check: bool) -> None:
    estate, out = rendered
    (out / RECORD_FILE).unlink()
    os.mkfifo(out / RECORD_FILE)
    result = _render_in_a_process(estate, out, *(["--check"] if check else []))
    assert result.returncode == 2, result.stderr
    assert "is not a regular file" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("target", ["/dev/zero", "folder"])
def test_a_record_that_is_a_link_or_a_folder_is_refused(
    rendered: tuple[Path, Path], target: str
) -> None:
    estate, out = rendered
    (out / RECORD_FILE).unlink()
    if target == "folder":
        (out / RECORD_FILE).mkdir()
    else:
        (out / RECORD_FILE).symlink_to(target)
    result = _render_in_a_process(estate, out)
    assert result.returncode == 2, result.stderr
    assert RECORD_FILE in result.stderr and "Traceback" not in result.stderr


def test_a_record_larger_than_any_llmops_writes_is_refused(
    rendered: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    estate, out = rendered
    monkeypatch.setattr(render_record, "MAX_RECORD_BYTES", 1000)
    result = run_cli("render", str(estate), "--env", "dev", "-o", str(out))
    assert result.exit_code == 2
    assert "larger than any record llmops writes (1,000 bytes)" in result.stderr


@pytest.mark.parametrize("deep", [DEEP_ARRAY, DEEP_OBJECT])
def test_a_record_nested_too_deeply_is_not_one_llmops_wrote(
    rendered: tuple[Path, Path], deep: str
) -> None:
    estate, out = rendered
    (out / RECORD_FILE).write_text(deep, encoding="utf-8")
    (out / "dev" / "kustomization.yaml").write_text("edited: by hand\n", encoding="utf-8")
    check = run_cli("render", str(estate), "--env", "dev", "-o", str(out), "--check")
    assert check.exit_code == 1 and "kustomization.yaml: differs" in check.stderr
    # without a record, the edited file is not provably llmops's: refused, not overwritten
    result = run_cli("render", str(estate), "--env", "dev", "-o", str(out))
    assert result.exit_code == 2 and "would be overwritten" in result.stderr
    assert (out / "dev" / "kustomization.yaml").read_text(encoding="utf-8") == "edited: by hand\n"


@pytest.mark.parametrize("deep", [DEEP_ARRAY, DEEP_OBJECT])
def test_a_proxy_configuration_nested_too_deeply_is_a_usage_error(
    tmp_path: Path, deep: str
) -> None:
    config = tmp_path / "proxy.json"
    config.write_text(deep, encoding="utf-8")
    result = run_cli("proxy", "--config", str(config))
    assert result.exit_code == 2
    assert f"{config}: not valid JSON: arrays and objects nest more than" in result.stderr


NOT_UTF8 = b"q\xff"  # a name as Python keeps it when its bytes are not UTF-8: `q\udcff`


def _with_a_name_that_is_not_utf8(tmp_path: Path, place: str) -> Path:
    """The bundled estate with an environment folder, or a manifest file, whose name is not
    UTF-8 (the file holds a model without its required fields, so it has diagnostics of its
    own)."""
    estate = copy_bundled_estate(tmp_path / "estate")
    environments = os.fsencode(estate / "environments")
    if place == "environment":
        shutil.copytree(os.path.join(environments, b"dev"), os.path.join(environments, NOT_UTF8))
    else:
        with open(os.path.join(environments, b"dev", NOT_UTF8 + b".yaml"), "wb") as manifest:
            manifest.write(
                b"apiVersion: llmops.io/v1\nkind: Model\nmetadata:\n  name: m\nspec: {}\n"
            )
    return estate


@pytest.mark.parametrize("place", ["environment", "manifest"])
@pytest.mark.parametrize("form", ["text", "json", "sarif", "junit", "github"])
def test_a_folder_or_file_name_that_is_not_utf8_is_reported_in_every_format(
    tmp_path: Path, place: str, form: str
) -> None:
    """Found by a hostile pass: an environment folder named so made `validate` and `render` end in
    an internal error (the proxy's configuration, holding the name, was measured as UTF-8 text),
    and SARIF's file URIs could not hold such a name."""
    estate = _with_a_name_that_is_not_utf8(tmp_path, place)
    result = run_cli("validate", str(estate), "--format", form)
    assert result.exit_code == 1, result.stderr
    assert "internal error" not in result.stderr + result.stdout
    if place == "environment" and form == "text":
        assert "error[K005]: environment folder `q\\udcff` is not a valid name" in result.stdout
    if form == "sarif":
        assert (
            "environments/dev/q%FF.yaml" in result.stdout or "environments/q%FF/" in result.stdout
        )


@pytest.mark.parametrize("place", ["environment", "manifest"])
@pytest.mark.parametrize("command", ["validate", "render"])
def test_a_name_that_is_not_utf8_is_written_by_a_process_of_its_own(
    tmp_path: Path, place: str, command: str
) -> None:
    """The same through a real standard output and error (UTF-8 writers refuse lone surrogates)."""
    estate = _with_a_name_that_is_not_utf8(tmp_path, place)
    result = subprocess.run(
        [sys.executable, "-m", "llmops.cli.main", command, str(estate)],
        capture_output=True,
        timeout=60,
        check=False,
        env={**os.environ, "LLMOPS_CACHE_DIR": "off"},
    )
    stderr = result.stderr.decode("utf-8")
    assert result.returncode == 1, stderr
    assert "internal error" not in stderr and "Traceback" not in stderr
    assert ("q\\udcff" if place == "environment" else "dev/q\\udcff.yaml") in (
        result.stdout.decode("utf-8") + stderr
    )
