"""Where the proxy's configuration comes from: the manifests (rendered in-process) or a proxy.json
file.

Both give exactly what `llmops render` puts into the `llmops-proxy-config` ConfigMap, so a proxy on
a laptop behaves as the one in the cluster.
"""

from __future__ import annotations

import stat
import sys
from pathlib import Path

from compiler.diagnostics import Severity
from compiler.errors import LlmopsError
from compiler.load.tree import DirectoryTree
from compiler.pipeline import validate_repository
from compiler.render.proxy_config import environment_proxy_config
from llmops.estate import find_estate_root
from llmops.proxy.config import ProxyConfig, parse_config
from llmops.proxy.jsonbody import NotJson, loads
from llmops.reporting import print_report

# A ConfigMap holds at most 1 MiB; a file a hundred times larger is not a proxy configuration.
MAX_CONFIG_BYTES = 100 * 1024 * 1024
# Manifests nest at most 64 levels (the loader's bound); proxy.json adds a few around them.
MAX_CONFIG_DEPTH = 128


class EstateHasErrors(Exception):
    """The estate does not validate; its diagnostics have been printed on stderr."""


def config_from_estate(repo: str | None, env: str) -> ProxyConfig:
    """Validate the estate and render one environment's proxy configuration.

    **Raises:** ``EstateHasErrors`` (diagnostics already on stderr) when the estate has errors;
    ``LlmopsError`` when the repository or environment cannot be used.
    """
    root = find_estate_root(repo)
    result = validate_repository(DirectoryTree(root), env)
    if any(d.severity is Severity.ERROR for d in result.diagnostics):
        print_report(result.diagnostics, result, "text", sys.stderr)
        raise EstateHasErrors(env)
    environment = next((e for e in result.estate.environments if e.name == env), None)
    if environment is None:
        raise LlmopsError(f"no environment {env!r} in {root}")
    return parse_config(environment_proxy_config(environment), f"environment {env}")


def config_from_file(path: str) -> ProxyConfig:
    """Read proxy.json (the ConfigMap's file, as mounted in the proxy's pod), as strict JSON (no
    NaN, no nesting past ``MAX_CONFIG_DEPTH``) from a regular file of at most ``MAX_CONFIG_BYTES``:
    a FIFO would block the start for ever, and a value Python's parser takes but JSON has not would
    fail later, on a request."""
    file = Path(path)
    try:
        info = file.stat()
        if not stat.S_ISREG(info.st_mode):
            raise LlmopsError(f"{path}: not a regular file")
        if info.st_size > MAX_CONFIG_BYTES:
            raise LlmopsError(
                f"{path}: {info.st_size} bytes, more than a proxy configuration may have "
                f"({MAX_CONFIG_BYTES})"
            )
        data = file.read_bytes()
    except FileNotFoundError:
        raise LlmopsError(f"{path}: no such file") from None
    except OSError as error:
        raise LlmopsError(f"{path}: cannot read it ({error.strerror or error})") from None
    try:
        document = loads(data, max_depth=MAX_CONFIG_DEPTH)
    except NotJson as error:
        where = f":{error.line}:{error.column}" if error.line is not None else ""
        raise LlmopsError(f"{path}{where}: not valid JSON: {error.message}") from None
    return parse_config(document, path)
