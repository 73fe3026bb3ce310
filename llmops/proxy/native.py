"""The proxy's hot path compiled to C by mypyc, used only when it was built from this very source.

Why: at concurrency 32 the proxy's own Python work was most of its CPU per request (the relaying
itself, in a bare Python relay, costs about a third more than nginx). mypyc turns the typed modules
on the request's path into a C extension with the same behaviour; `make native` (run by `make test`
and the proxy benchmarks) builds it with `python -m llmops.proxy.native_build`.

The extension modules live in ``_compiled/`` beside this file, never beside the sources: Python
prefers an extension module to a ``.py`` of the same name, so one left next to an edited source
would run the old code. Instead ``llmops/proxy/__init__.py`` puts ``_compiled/`` first on the
package's search path only when its stamp holds the digest of every source of this package as it is
now, and the size of every file the build needs under this Python's names; after any edit the proxy
runs the sources as written until the next build, and a build missing a module, cut short, or made
for another Python is never loaded (one module missing hung the proxy's own server; one cut short
crashed the process). ``LLMOPS_PROXY_COMPILED=0`` (or false, no, off) turns the compiled modules
off (for a debugger, or to compare).
"""

from __future__ import annotations

import hashlib
import os
import sysconfig
from pathlib import Path

# the modules a relayed request runs through (llmops/proxy/front.py to upstream_pool.py), in
# the order of their path
COMPILED = (
    "lean_head",
    "front",
    "guard",
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
OFF = frozenset(("0", "false", "no", "off"))
BUILT = "built "  # the stamp's lines naming a file of the build: "built <size> <name>"


def source_stamp(package_dir: Path = PACKAGE_DIR) -> str:
    """One line per source of the package: its digest and name. The compiled modules call the
    others directly and trust their types, so an edit to any of them makes a build stale. Hidden
    names (an editor's lock or backup file) and anything not a regular file are no source.
    **Raises:** ``OSError`` when a source cannot be read."""
    lines = []
    for path in sorted(package_dir.glob("*.py")):
        if path.name.startswith(".") or not path.is_file():
            continue
        lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n")
    return "".join(lines)


def built_files(modules: tuple[str, ...] = COMPILED) -> list[str]:
    """The files a build holds for this Python: one extension module each, and the shared library
    (a Python with another ABI tag looks for other names, and finds none)."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    return sorted([f"{name}{suffix}" for name in modules] + [f"native__mypyc{suffix}"])


def built_stamp(folder: Path, modules: tuple[str, ...] = COMPILED) -> str:
    """The stamp's lines for the build in ``folder``: each file's size (-1: missing) and name."""
    lines = []
    for name in built_files(modules):
        try:
            size = (folder / name).stat().st_size
        except FileNotFoundError:
            size = -1
        lines.append(f"{BUILT}{size} {name}\n")
    return "".join(lines)


def compiled_dir(
    package_dir: Path = PACKAGE_DIR, modules: tuple[str, ...] = COMPILED
) -> tuple[Path | None, str]:
    """The folder of compiled modules to search first, or None; and why, in a few words. Only a
    whole build, made from the sources as they are, for this Python: a module missing or cut short
    would hang or crash the proxy, not fall back."""
    if os.environ.get(SWITCH, "1").strip().lower() in OFF:
        return None, f"{SWITCH}={os.environ[SWITCH]}"
    folder = package_dir / "_compiled"
    try:
        stamp = (folder / STAMP).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None, "not built"
    sources = "".join(line for line in stamp.splitlines(True) if not line.startswith(BUILT))
    try:
        if sources != source_stamp(package_dir):
            return None, "built from other sources"
        if stamp[len(sources) :] != built_stamp(folder, modules):
            return None, "built for another Python, or incomplete"
    except OSError as error:
        return None, f"cannot check the build ({error.strerror or error})"
    return folder, "compiled with mypyc"


def in_use() -> bool:
    """Whether the modules on the request's path were loaded from the compiled build."""
    from llmops.proxy import front

    return not str(front.__file__).endswith(".py")


def describe() -> str:
    """Which code serves the requests, and why: what `llmops proxy` prints when it starts."""
    from llmops.proxy import COMPILED_DIR, COMPILED_STATE

    if in_use():
        return COMPILED_STATE
    if COMPILED_DIR is not None:
        return "its Python sources (the compiled build did not load)"
    if COMPILED_STATE.startswith(SWITCH):
        return f"its Python sources ({COMPILED_STATE})"
    return f"its Python sources ({COMPILED_STATE}; `make native` compiles it)"
