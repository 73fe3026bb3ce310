"""`llmops proxy`: serve the original platform's API for one environment, configured from the
manifests or proxy.json."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click
from click.core import ParameterSource

from compiler.errors import LlmopsError
from llmops.cli import exit_codes, options
from llmops.extras import missing_extra

# As many as environment.yaml's proxy.workers allows (a test holds the two together): one core each,
# so more than a node's cores only adds processes.
MAX_WORKERS = 32
# a worker whose event loop has not run for this long is killed, which stops the proxy as any
# worker's end does (gunicorn's --timeout is 30 s too)
WORKER_TIMEOUT_SECONDS = 30.0


def proxy(
    *,
    repo: str | None,
    env: str | None,
    config_path: str | None,
    host: str,
    port: int,
    backends: tuple[str, ...],
    timeout: float,
    stream_idle_timeout: float,
    max_connections: int,
    workers: int,
    worker_timeout: float,
    local_identity: str | None,
) -> int:
    try:
        from llmops.proxy.app import build_app
        from llmops.proxy.server import WorkersNotStarted, serve, serve_workers
    except ImportError as error:
        raise missing_extra(error, "proxy", "the proxy") from None
    from llmops.proxy import native
    from llmops.proxy.backends import apply_overrides
    from llmops.proxy.canary import apply_canary_overrides
    from llmops.proxy.config import ProxyConfig
    from llmops.proxy.config_source import EstateHasErrors, config_from_estate, config_from_file
    from llmops.proxy.guard import connection_cap
    from llmops.proxy.local_identity import BadLocalIdentity, parse_local_identity
    from llmops.proxy.options import TOKEN_ENV, ProxyOptions

    local = None
    if local_identity is not None:
        try:
            local = parse_local_identity(local_identity, host)
        except BadLocalIdentity as error:
            raise LlmopsError(str(error)) from None
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
    config, other_backends = apply_canary_overrides(config, backends)
    config = apply_overrides(config, other_backends)
    console = _console(repo, config, from_estate=config_path is None)
    options = ProxyOptions.from_environment(
        response_timeout=timeout,
        stream_idle_timeout=stream_idle_timeout,
        max_connections=max_connections,
        local_identity=local,
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
        print(f"  console: {url}/console/", flush=True)
        print(f"  hot path: {native.describe()}", flush=True)
        if local is not None:
            logging.getLogger("llmops.proxy").warning(
                "--local-identity: requests without X-User-Id act as %s (roles %s); "
                "only on this loopback address",
                local.user_id,
                ",".join(sorted(local.roles)),
            )
        in_cluster = []
        for endpoint in config.endpoints:
            print(
                f"  {endpoint.route} -> {endpoint.backend.url} ({endpoint.backend.api}, model "
                f"{endpoint.backend.served_model_name})",
                flush=True,
            )
            if _cluster_local(endpoint.backend.url):
                in_cluster.append(endpoint.name)
        if in_cluster:
            example = in_cluster[0]
            print(
                f"  note: {_these_addresses(len(in_cluster))} only inside the cluster; outside "
                f"it, point each endpoint at a server you can reach: --backend "
                f"{example}=http://127.0.0.1:8080",
                flush=True,
            )

    if workers > 1 and port == 0:
        raise LlmopsError("--workers share one port: give it with --port (0 picks one per worker)")
    try:
        if workers > 1:
            return serve_workers(
                lambda: build_app(config, options, console),
                host,
                port,
                workers,
                announce,
                worker_timeout=worker_timeout,
            )
        serve(build_app(config, options, console), host, port, announce)
    except WorkersNotStarted as error:
        raise LlmopsError(
            str(error), hint="give fewer --workers, or raise the process limit"
        ) from None
    except OSError as error:
        raise LlmopsError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    return exit_codes.OK


def _cluster_local(url: str) -> bool:
    """A Kubernetes Service's in-cluster name (`<service>.<namespace>.svc.cluster.local`)."""
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").rstrip(".")
    return host.endswith(".svc.cluster.local") or host.endswith(".svc")


def _these_addresses(count: int) -> str:
    return "the address above resolves" if count == 1 else f"the {count} addresses above resolve"


def _console(repo: str | None, config: Any, *, from_estate: bool) -> Any:
    """The web console: the whole estate when the manifests are at hand, else what proxy.json
    carries."""
    from llmops.console.pages import console_from_config, console_from_estate
    from llmops.estate import find_estate_root

    if from_estate:
        return console_from_estate(find_estate_root(repo), config.environment)
    return console_from_config(config)


def _repo_unless_config(ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
    """REPO from LLMOPS_REPO gives way to --config (given on the command line, both are refused)."""
    from_environment = ctx.get_parameter_source("repo") is ParameterSource.ENVIRONMENT
    return None if from_environment and ctx.params.get("config_path") is not None else value


command = click.Command(
    "proxy",
    callback=proxy,
    help="serve the platform API for one environment (chat, endpoints, A/B)\n\nConfigured from "
    "the manifests, or with --config from the rendered ConfigMap's proxy.json (as in the "
    "cluster). Exit 1: the estate has errors; 2: usage error, unknown environment, address in "
    "use.\n\n" + options.REPO_HELP,
    params=[
        click.Argument(
            ["repo"],
            required=False,
            envvar=options.REPO_VARIABLE,
            callback=_repo_unless_config,
        ),
        options.env_option("the environment to serve (rendered from the manifests)"),
        click.Option(
            ["--config", "config_path"],
            metavar="PATH",
            help="serve this proxy.json (the rendered ConfigMap's file) instead of rendering the "
            "manifests",
        ),
        click.Option(
            ["--host"],
            metavar="ADDRESS",
            default="127.0.0.1",
            show_default=True,
            help="address to listen on",
        ),
        click.Option(
            ["--port"],
            type=options.Port(),
            metavar="PORT",
            default=8000,
            show_default=True,
            help="port to listen on; 0 picks a free one",
        ),
        click.Option(
            ["--backend", "backends"],
            multiple=True,
            metavar="NAME=URL",
            help="send endpoint NAME to URL instead of its in-cluster address; NAME-canary is "
            "its canary (repeatable; also LLMOPS_PROXY_BACKEND_<NAME>=URL)",
        ),
        click.Option(
            ["--timeout"],
            type=options.Seconds(),
            default=300.0,
            show_default=True,
            metavar="SECONDS",
            help="longest wait for a whole answer or a stream's first piece",
        ),
        click.Option(
            ["--stream-idle-timeout"],
            type=options.Seconds(),
            default=60.0,
            show_default=True,
            metavar="SECONDS",
            help="longest pause inside a stream",
        ),
        click.Option(
            ["--max-connections"],
            type=options.WholeNumber(),
            default=1000,
            show_default=True,
            metavar="N",
            help="client connections held open; at the cap the longest idle one is closed "
            "(lowered to fit the open-file limit); per worker",
        ),
        click.Option(
            ["--workers"],
            type=options.WholeNumber(maximum=MAX_WORKERS),
            default=1,
            show_default=True,
            metavar="N",
            help="processes serving the port together (SO_REUSEPORT), one core each; limits, "
            "connections and experiment statistics are per worker, /metrics adds them up",
        ),
        click.Option(
            ["--worker-timeout"],
            type=options.Seconds(),
            default=WORKER_TIMEOUT_SECONDS,
            show_default=True,
            metavar="SECONDS",
            help="with --workers 2 or more: a worker whose event loop has not run for this long "
            "(hung, or stopped) is killed, which stops the proxy (exit 1)",
        ),
        click.Option(
            ["--local-identity"],
            metavar="USER:ROLE[,ROLE]",
            help="act as USER with these roles for requests without X-User-Id (a browser on "
            "this machine); refused unless --host is a loopback address",
        ),
    ],
)
