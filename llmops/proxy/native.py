"""The proxy's hot path compiled to C by mypyc, used only when it was built from this very source.

Why: at concurrency 32 the proxy's own Python work was most of its CPU per request (the relaying
itself, in a bare Python relay, costs about a third more than nginx). mypyc turns the typed modules
on the request's path into a C extension with the same behaviour; `make native` (run by `make test`
and the proxy benchmarks) builds it with `python -m llmops.proxy.native_build`.

The extension modules live in ``_compiled/`` beside this file, never beside the sources: Python
prefers an extension module to a ``.py`` of the same name, so one left next to an edited source
would run the old code. Instead ``llmops/proxy/__init__.py`` puts ``_compiled/`` first on the
package's search path only when its stamp holds the digest of every source of this package as it is
now; after any edit the proxy runs the sources as written until the next build. A Python whose ABI
tag differs from the build's finds no module it can load there and falls through to the sources.
``LLMOPS_PROXY_COMPILED=0`` turns the compiled modules off (for a debugger, or to compare).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

# the modules a relayed request runs through (llmops/proxy/front.py to upstream_pool.py), in
# the order of their path
COMPILED = (
    "lean_head",
    "front",
    "serve_routes",
    "governance",
    "jsonbody",
    "fields",
    "tokens",
    "limits",
    "canary",
    "experiments",
    "envelope",
    "deadline",
    "delivery",
    "sse",
    "upstream",
    "upstream_pool",
    "metrics",
    "exchange",
    "state",
    "options",
)
PACKAGE_DIR = Path(__file__).resolve().parent
COMPILED_DIR = PACKAGE_DIR / "_compiled"
STAMP = "sources.sha256"
# the name mypyc gives the shared library holding every compiled module (plus "__mypyc")
GROUP = "llmops.proxy.native"
SWITCH = "LLMOPS_PROXY_COMPILED"


def source_stamp(package_dir: Path = PACKAGE_DIR) -> str:
    """One line per source of the package: its digest and name. The compiled modules call the
    others directly and trust their types, so an edit to any of them makes a build stale."""
    lines = []
    for path in sorted(package_dir.glob("*.py")):
        lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n")
    return "".join(lines)


def compiled_dir(package_dir: Path = PACKAGE_DIR) -> tuple[Path | None, str]:
    """The folder of compiled modules to search first, or None; and why, in a few words."""
    if os.environ.get(SWITCH, "1") == "0":
        return None, f"{SWITCH}=0"
    folder = package_dir / "_compiled"
    try:
        stamp = (folder / STAMP).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None, "not built (make native)"
    if stamp != source_stamp(package_dir):
        return None, "built from other sources (make native)"
    return folder, "compiled with mypyc"


def in_use() -> bool:
    """Whether the modules on the request's path were loaded from the compiled build."""
    from llmops.proxy import front

    return not str(front.__file__).endswith(".py")
