"""Which llmops a process is, and whether the code a long-lived one loaded is still on disk: a warm
server must never answer with code older than what a new process would run."""

from __future__ import annotations

import os
import sys

import llmops

Signature = tuple[int, int, int]  # size, modification time (ns), inode


def installation() -> dict[str, str]:
    """The interpreter, environment (virtualenv), llmops and compiler packages and `PYTHONPATH` a
    process runs with: a client and a server must agree. (`sys.executable` is no identity: a
    virtualenv's `python` and `python3` are one interpreter; the compiler, and the templates beside
    it, may come from another folder than llmops.)"""
    from importlib.util import find_spec

    found = find_spec("compiler")
    places = [] if found is None else list(found.submodule_search_locations or [])
    return {
        "python": os.path.realpath(sys.executable),
        "version": sys.version,
        "prefix": sys.prefix,
        "llmops": os.path.dirname(os.path.abspath(llmops.__file__)),
        "compiler": next((os.path.abspath(p) for p in places if os.path.isdir(p)), ""),
        "pythonpath": os.environ.get("PYTHONPATH", ""),
    }


class LoadedCode:
    """The files of every module a process has imported, as they were when imported."""

    def __init__(self, files: dict[str, Signature | None]) -> None:
        self.files = files

    def changed(self) -> str | None:
        """The first loaded file that changed on disk since (or went away), as a reason; None."""
        for path, signature in self.files.items():
            if _signature(path) != signature:
                return f"{path} changed since the server loaded it"
        return None

    def with_new_modules(self) -> LoadedCode:
        """This, plus the files of modules imported since (as they are now)."""
        known = dict(self.files)
        for path in _module_files():
            if path not in known:
                known[path] = _signature(path)
        return LoadedCode(known)


def loaded_code() -> LoadedCode:
    """Every imported module's file, and the render's templates (read once, then kept)."""
    from compiler.render.templating import TEMPLATES_DIR

    files = _module_files()
    for directory, subdirectories, names in os.walk(TEMPLATES_DIR):
        subdirectories.sort()
        files.extend(os.path.join(directory, name) for name in sorted(names))
    return LoadedCode({path: _signature(path) for path in files})


def _module_files() -> list[str]:
    files = []
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and os.path.isabs(path):
            files.append(path)
    return files


def _signature(path: str) -> Signature | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_size, status.st_mtime_ns, status.st_ino)
