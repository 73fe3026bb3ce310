"""A base install (`make run`) lacks the optional extras: each command that needs one says which
package is missing and how to install the extra (exit 2), never a traceback, and `render --verify`
refuses before it renders, prints or writes anything."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.estate import PROJECT_ROOT, copy_bundled_estate


def run_without(
    blocked: tuple[str, ...], *argv: str, cwd: Path
) -> subprocess.CompletedProcess[str]:
    """`llmops ARGV` in a process where importing any of ``blocked`` fails, as on a base install."""
    script = (
        "import sys\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        "from llmops.cli.main import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "LLMOPS_CACHE_DIR": "off"}
    return subprocess.run(
        [sys.executable, "-c", script, *argv],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("blocked", "argv", "missing", "extra"),
    [
        (("urllib3",), ["status"], "urllib3", "status"),  # imported before kubernetes
        (("kubernetes",), ["status"], "kubernetes", "status"),
        (("aiohttp",), ["proxy", "--env", "dev", "--port", "0"], "aiohttp", "proxy"),
        (("kubernetes_validate",), ["render", "--verify"], "kubernetes_validate", "conform"),
        (("jsonschema",), ["render", "-o", "out", "--verify"], "jsonschema", "conform"),
    ],
)
def test_a_missing_extra_is_named_with_how_to_install_it(
    tmp_path: Path, blocked: tuple[str, ...], argv: list[str], missing: str, extra: str
) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    done = run_without(blocked, *argv, cwd=estate)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert f"needs {missing}, which is not installed" in done.stderr
    assert (
        "`make extras`" in done.stderr
        and f"pip install -e '{PROJECT_ROOT}[{extra}]'" in done.stderr
    )
    assert "pip install 'llmops[" not in done.stderr  # PyPI's llmops is another project
    assert done.stdout == ""
    assert not (estate / "out").exists()


class _Installed:
    """A distribution as `importlib.metadata` gives it, with or without PEP 610's record."""

    def __init__(self, record: str | None) -> None:
        self.record = record

    def read_text(self, name: str) -> str | None:
        return self.record if name == "direct_url.json" else None


@pytest.mark.parametrize("editable", [True, False])
def test_the_hint_installs_the_extra_from_where_llmops_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, editable: bool
) -> None:
    """A wheel or a folder: the extra is installed from it, into the Python that runs llmops, and
    never by the bare name, which would fetch PyPI's unrelated `llmops` in its place."""
    import importlib.metadata

    from llmops.extras import install_hint

    source = tmp_path / ("my llmops" if editable else "llmops-0.1.0-py3-none-any.whl")
    source.mkdir() if editable else source.write_bytes(b"")
    record = json.dumps(
        {"url": source.as_uri(), **({"dir_info": {"editable": True}} if editable else {})}
    )
    found = [_Installed(None), _Installed(record)]  # a checkout's egg-info comes first
    monkeypatch.setattr(importlib.metadata, "distributions", lambda name: iter(found))
    hint = install_hint("proxy")
    flag = "-e " if editable else ""
    assert hint.endswith(f"{shlex.quote(sys.executable)} -m pip install {flag}'{source}[proxy]'")
    source.rmdir() if editable else source.unlink()  # moved since: not named
    assert "pip install the llmops you installed, with [proxy]" in install_hint("proxy")
    found[1] = _Installed(json.dumps({"url": "https://example.invalid/x.whl"}))
    assert "pip install the llmops you installed" in install_hint("proxy")
