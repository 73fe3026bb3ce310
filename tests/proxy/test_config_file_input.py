"""`llmops proxy --config FILE` with a file no renderer wrote: nesting past any manifest, a number
Python cannot read or JSON does not have, a FIFO or a directory. Each is a usage error (exit 2)
naming the file, never a traceback (exit 3) or a start that blocks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers.estate import run_cli
from tests.proxy.conftest import document, endpoint

VALID = document(endpoint("chat", "http://127.0.0.1:1"))


def _with_catalog_value(value: str) -> str:
    """A valid configuration whose catalog carries ``value`` (JSON text) in a model's spec."""
    text = json.dumps({**VALID, "models": [{"id": "m@1", "name": "m", "version": "1", "x": 0}]})
    return text.replace('"x": 0', f'"x": {value}')


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nest more than 128 levels deep"),
        (_with_catalog_value("[" * 200 + "]" * 200), "nest more than 128 levels deep"),
        (_with_catalog_value("9" * 5_000), "Exceeds the limit"),
        (_with_catalog_value("NaN"), "NaN is not a JSON number"),
        (_with_catalog_value("-Infinity"), "-Infinity is not a JSON number"),
        (_with_catalog_value("1e999"), "too large for a double"),
        (json.dumps({**VALID, "version": True}), "version True is not supported"),
        ("\xff{}", "not valid JSON"),
    ],
)
def test_a_config_file_no_renderer_wrote_is_a_usage_error(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "proxy.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape").replace(b"\xc3\xbf", b"\xff"))
    result = run_cli("proxy", "--config", str(path))
    assert result.exit_code == 2, result.stderr[-500:]
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_config_path_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "proxy.json"
    os.mkfifo(fifo)  # opening it would block until a writer comes
    for path in (fifo, tmp_path):
        result = run_cli("proxy", "--config", str(path))
        assert result.exit_code == 2, result.stderr[-500:]
        assert f"{path}: not a regular file" in result.stderr
