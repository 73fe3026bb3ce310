"""What a command says when an optional extra it needs is not installed (`make run` installs the
base dependencies only): the package missing, the extra holding it, and how to install that from
the lock files. Never a traceback: a missing package is the installation's state, not a bug."""

from __future__ import annotations

import json
import shlex
import sys
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import unquote

from compiler.errors import LlmopsError

# the packages each extra brings that its commands import first (pyproject.toml)
EXTRA_MODULES = {
    "status": ("kubernetes", "urllib3"),
    "proxy": ("aiohttp", "orjson", "prometheus_client"),
    "conform": ("jsonschema", "referencing", "kubernetes_validate"),
}
_OWN_PACKAGES = frozenset({"llmops", "compiler"})


def install_hint(extra: str) -> str:
    """How to add ``extra`` to the llmops that runs: from where it was installed, since the
    `llmops` on PyPI is another project (`pip install 'llmops[proxy]'` would replace this one)."""
    source = _installed_from()
    where = (
        f"{shlex.quote(sys.executable)} -m pip install {source[1]}"
        f"{shlex.quote(f'{source[0]}[{extra}]')}"
        if source is not None
        else f"pip install the llmops you installed, with [{extra}] after its path or wheel"
    )
    return (
        f"install llmops's `{extra}` extra: in a checkout of llmops, `make extras` (every extra, "
        f"from the hash-checked lock files); else {where}"
    )


def _installed_from() -> tuple[str, str] | None:
    """The folder or wheel this llmops was installed from (PEP 610's record), if it still exists
    (a wheel built in an image's build stage, or a checkout since moved, is not named), and `-e `
    when the install is editable."""
    try:
        from importlib.metadata import distributions

        # a checkout on the path also holds the egg-info of its editable install, without the record
        records = (found.read_text("direct_url.json") for found in distributions(name="llmops"))
        recorded = next((record for record in records if record), None)
        record = json.loads(recorded) if recorded else {}
        url = record.get("url")
        editable = record.get("dir_info", {}).get("editable") is True
    except (ImportError, OSError, ValueError, AttributeError):
        return None
    if not isinstance(url, str) or not url.startswith("file://"):
        return None
    path = Path(unquote(url.removeprefix("file://")))
    return (str(path), "-e " if editable else "") if path.exists() else None


def missing_extra(error: ImportError, extra: str, needs: str) -> LlmopsError:
    """The error to raise for ``error``, met importing what ``needs`` (`llmops status`, "the
    proxy"). **Raises:** ``error`` itself when what is missing is part of llmops: that is a bug."""
    package = (error.name or "").partition(".")[0]
    if not package or package in _OWN_PACKAGES:
        raise error
    return LlmopsError(f"{needs} needs {package}, which is not installed", hint=install_hint(extra))


def require_extra(extra: str, needs: str) -> None:
    """Refuse before any work when a package of ``extra`` is missing (found without importing it).
    **Raises:** ``LlmopsError`` naming the first missing package."""
    for module in EXTRA_MODULES[extra]:
        if find_spec(module) is None:
            raise LlmopsError(
                f"{needs} needs {module}, which is not installed", hint=install_hint(extra)
            )
