"""`llmops proxy`: serve the seeds' API for one environment, configured from the manifests or
proxy.json."""

from __future__ import annotations

import logging
import sys

from compiler.errors import LlmopsError
from llmops.cli import exit_codes

MISSING_EXTRA_HINT = "install the proxy's dependencies: pip install 'llmops[proxy]'"


def proxy(
    repo: str | None,
    env: str | None,
    config_path: str | None,
    host: str,
    port: int,
    backends: list[str],
    timeout: float,
    stream_idle_timeout: float,
    max_connections: int = 1000,
) -> int:
    try:
        from llmops.proxy.app import build_app
        from llmops.proxy.server import serve
    except ImportError as error:
        raise LlmopsError(
            f"the proxy needs {error.name}, which is not installed", hint=MISSING_EXTRA_HINT
        ) from None
    from llmops.proxy.backends import apply_overrides
    from llmops.proxy.config import ProxyConfig
    from llmops.proxy.config_source import EstateHasErrors, config_from_estate, config_from_file
    from llmops.proxy.connections import connection_cap
    from llmops.proxy.options import TOKEN_ENV, ProxyOptions

    if config_path is None and env is None:
        raise LlmopsError("say which environment to serve: --env ENV (or --config proxy.json)")
    if config_path is not None and repo is not None:
        raise LlmopsError("give either REPO with --env, or --config, not both")
    try:
        config: ProxyConfig = (
            config_from_file(config_path) if config_path else config_from_estate(repo, env or "")
        )
    except EstateHasErrors:
        return exit_codes.FAILED
    if env is not None and config.environment != env:
        raise LlmopsError(f"{config_path} configures {config.environment!r}, not {env!r}")
    config = apply_overrides(config, backends)
    options = ProxyOptions.from_environment(
        response_timeout=timeout,
        stream_idle_timeout=stream_idle_timeout,
        max_connections=max_connections,
    )
    if config.access.bearer_token_secret and not options.token:
        raise LlmopsError(
            f"{config.environment} requires a bearer token (Secret "
            f"{config.access.bearer_token_secret!r}), but {TOKEN_ENV} is not set",
            hint=f"export {TOKEN_ENV}=<the token callers send>",
        )
    logging.basicConfig(level=logging.INFO, format="llmops proxy: %(message)s", stream=sys.stderr)

    def announce(url: str) -> None:
        count = len(config.endpoints)
        print(
            f"serving {config.environment} ({count} endpoint{'' if count == 1 else 's'}) on {url}",
            flush=True,
        )
        cap = connection_cap(max_connections)
        if cap < max_connections:
            logging.getLogger("llmops.proxy").info(
                "at most %d client connections (--max-connections %d is more "
                "than the open-file limit allows)",
                cap,
                max_connections,
            )
        for endpoint in config.endpoints:
            print(
                f"  {endpoint.route} -> {endpoint.backend.url} ({endpoint.backend.api}, model "
                f"{endpoint.backend.served_model_name})",
                flush=True,
            )

    try:
        serve(build_app(config, options), host, port, announce)
    except OSError as error:
        raise LlmopsError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    return exit_codes.OK
