"""Which llmops a process is, and whether the code a long-lived one loaded is still on disk: a warm
server must never answer with code older than what a new process would run."""

from __future__ import annotations

import os
import sys

import llmops

# size, modification time (ns), inode, and change time (ns): a file written in place with its size
# and modification time put back (`touch -r`, `cp -p` over it, `rsync --inplace -t`) keeps the
# first three, but the system sets the change time on every write and no one can set it back
Signature = tuple[int, int, int, int]


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
    return (status.st_size, status.st_mtime_ns, status.st_ino, status.st_ctime_ns)


# the limits a command's writes and reads meet (a file over `ulimit -f`, too many open files)
_LIMITS = (
    "RLIMIT_FSIZE",
    "RLIMIT_NOFILE",
    "RLIMIT_AS",
    "RLIMIT_DATA",
    "RLIMIT_STACK",
    "RLIMIT_CPU",
)


def process_context() -> dict[str, object]:
    """What a command's outcome depends on besides its arguments, environment, umask and working
    directory, and a server cannot take over from its client: which files the paths name (mount
    namespace, root), what may be read and written (groups, capabilities) and the resource limits.
    A client and a server must agree, or the command runs in the client's own process: served, it
    rendered another folder's estate, read a file the caller may not, wrote past `ulimit -f`."""
    import resource

    context: dict[str, object] = {"gid": os.getgid(), "egid": os.getegid()}
    context["groups"] = sorted(os.getgroups())
    root = os.stat("/")
    context["root"] = [root.st_dev, root.st_ino]
    for namespace in ("mnt", "user"):
        try:
            context[namespace] = os.readlink(f"/proc/self/ns/{namespace}")
        except OSError:
            context[namespace] = None
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            context["capabilities"] = [
                line.split()[1] for line in status if line.startswith(("CapEff:", "CapBnd:"))
            ]
    except OSError:
        context["capabilities"] = None
    context["limits"] = [
        list(resource.getrlimit(getattr(resource, name)))
        for name in _LIMITS
        if hasattr(resource, name)
    ]
    return context


def context_difference(client: object, server: dict[str, object]) -> str | None:
    """What differs between a client's process context and the server's, in words; None."""
    if not isinstance(client, dict):
        return "no process context"
    for key, words in (
        ("mnt", "another mount namespace"),
        ("root", "another root folder"),
        ("user", "another user namespace"),
        ("gid", "another group"),
        ("egid", "another group"),
        ("groups", "other supplementary groups"),
        ("capabilities", "other capabilities"),
        ("limits", "other resource limits (ulimit)"),
    ):
        if client.get(key) != server.get(key):
            return f"a process with {words} than the server's"
    return None
