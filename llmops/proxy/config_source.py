"""Where the proxy's configuration comes from: the manifests (rendered in-process) or a proxy.json
file.

Both give exactly what `llmops render` puts into the `llmops-proxy-config` ConfigMap, so a proxy on
a laptop behaves as the one in the cluster.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from compiler.diagnostics import Severity
from compiler.errors import LlmopsError
from compiler.load.tree import DirectoryTree
from compiler.pipeline import validate_repository
from compiler.render.proxy_config import environment_proxy_config
from llmops.estate import find_estate_root
from llmops.proxy.config import ProxyConfig, parse_config
from llmops.reporting import print_report


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
    """Read proxy.json (the ConfigMap's file, as mounted in the proxy's pod)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LlmopsError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise LlmopsError(f"{path}: cannot read it ({error})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise LlmopsError(
            f"{path}:{error.lineno}:{error.colno}: not valid JSON: {error.msg}"
        ) from None
    return parse_config(document, path)
