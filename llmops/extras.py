"""What a command says when an optional extra it needs is not installed (`make run` installs the
base dependencies only): the package missing, the extra holding it, and how to install that from
the lock files. Never a traceback: a missing package is the installation's state, not a bug."""

from __future__ import annotations

from importlib.util import find_spec

from compiler.errors import LlmopsError

# the packages each extra brings that its commands import first (pyproject.toml)
EXTRA_MODULES = {
    "status": ("kubernetes", "urllib3"),
    "proxy": ("aiohttp", "orjson", "prometheus_client"),
    "conform": ("jsonschema", "referencing", "kubernetes_validate"),
}
_OWN_PACKAGES = frozenset({"llmops", "compiler"})


def install_hint(extra: str) -> str:
    return (
        f"install llmops's `{extra}` extra: in a checkout of llmops, `make extras` (every extra, "
        f"from the hash-checked lock files); else pip install 'llmops[{extra}]'"
    )


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
