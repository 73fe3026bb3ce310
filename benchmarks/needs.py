"""What a benchmark needs installed, said up front: the proxy benchmarks import the proxy's extras
(aiohttp, orjson, prometheus_client, uvloop), which `make run`'s virtualenv leaves out."""

from __future__ import annotations

import importlib.util

PROXY_MODULES = ("aiohttp", "orjson", "prometheus_client", "uvloop")


def require_proxy_extras(script: str, make_target: str) -> None:
    """Exit with what to install when a module of the proxy's extras is missing."""
    missing = [name for name in PROXY_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise SystemExit(
            f"{script} needs the proxy's extras ({', '.join(missing)} missing from this Python): "
            f"run `make {make_target}`, or `.venv/bin/python benchmarks/{script}` once `make test` "
            "has installed them (`pip install -e '.[proxy]'` outside this Makefile)"
        )
