"""What a running proxy holds: its configuration, one runtime record per endpoint, and shared
clients."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Final

from aiohttp import web

from llmops.proxy.backends import openai_base
from llmops.proxy.canary import CANARY, STABLE, CanarySplit, canary_as_endpoint
from llmops.proxy.config import Access, CanaryBackend, Endpoint, Limits, ProxyConfig
from llmops.proxy.delivery import AnswerBudget
from llmops.proxy.experiments import ExperimentRun
from llmops.proxy.governance import Caller
from llmops.proxy.guard import ConnectionGuard
from llmops.proxy.limits import ConcurrencyGate
from llmops.proxy.metrics import ProxyMetrics
from llmops.proxy.options import ProxyOptions
from llmops.proxy.upstream_pool import UpstreamPool


@dataclass
class EndpointRuntime:
    endpoint: Endpoint
    openai_base: str
    gate: ConcurrencyGate
    experiment: ExperimentRun | None
    # with a canary: the split both variants share, which one this is, and (on the endpoint's own
    # runtime) the canary's, whose endpoint carries the canary's model, backend and limits
    split: CanarySplit | None = None
    variant: str = STABLE
    canary: EndpointRuntime | None = None
    # how error messages name the model server: made once, as every request passes it on (a
    # cached_property, compiled by mypyc, was made again at each use)
    who: str = field(init=False)
    # the model server's names, read at every request (``Endpoint``'s method is not compiled)
    _served_name: str = field(init=False)
    _adapter_names: frozenset[str] = field(init=False)
    # the endpoint's settings every request reads, held here: a field of ``Endpoint`` (pydantic,
    # not compiled) is a generic attribute lookup, about 350 instructions each time
    name: str = field(init=False)
    serve_target: str = field(init=False)
    allowed_roles: tuple[str, ...] = field(init=False)
    limits: Limits | None = field(init=False)

    def __post_init__(self) -> None:
        endpoint = self.endpoint
        self.who = f"the model server of {endpoint.name} ({endpoint.backend.url})"
        self._served_name = endpoint.backend.served_model_name
        self._adapter_names = frozenset(adapter.name for adapter in endpoint.adapters)
        self.name = endpoint.name
        self.serve_target = endpoint.serve_target
        self.allowed_roles = endpoint.allowed_roles
        self.limits = endpoint.limits

    def served_name_for(self, requested: object) -> str:
        """``Endpoint.served_name_for``: an adapter's name when the request's `model` names one,
        the base model's otherwise."""
        if self._adapter_names and isinstance(requested, str) and requested in self._adapter_names:
            return requested
        return self._served_name


@dataclass
class ProxyState:
    config: ProxyConfig
    options: ProxyOptions
    metrics: ProxyMetrics = field(default_factory=ProxyMetrics)
    by_route: dict[str, EndpointRuntime] = field(default_factory=dict)
    experiments: dict[str, ExperimentRun] = field(default_factory=dict)
    pool: UpstreamPool | None = None
    # the inference calls aiohttp's server is serving (the proxy's own server's are its
    # connections' tasks): a shutdown cuts both alike (llmops/proxy/front.py, Front.shutdown)
    aiohttp_calls: set[asyncio.Task[None]] = field(default_factory=set)
    connections: ConnectionGuard = field(init=False)
    budget: AnswerBudget = field(init=False)
    # what every request reads of the configuration and the options (neither class is compiled:
    # each of their fields is a generic attribute lookup)
    access: Access = field(init=False)
    environment: str = field(init=False)
    token: str | None = field(init=False)
    local_identity: Caller | None = field(init=False)
    header_timeout: float = field(init=False)
    write_timeout: float = field(init=False)
    max_request_bytes: int = field(init=False)

    def __post_init__(self) -> None:
        self.access = self.config.access
        self.environment = self.config.environment
        self.token = self.options.token
        self.local_identity = self.options.local_identity
        self.header_timeout = self.options.header_timeout
        self.write_timeout = self.options.write_timeout
        self.max_request_bytes = self.options.max_request_bytes

    @classmethod
    def build(cls, config: ProxyConfig, options: ProxyOptions) -> ProxyState:
        metrics = ProxyMetrics(frozenset(endpoint.name for endpoint in config.endpoints))
        state = cls(config=config, options=options, metrics=metrics)
        state.connections = ConnectionGuard(options, metrics)
        state.budget = AnswerBudget(options.max_held_bytes)
        templates = {template.name: template for template in config.templates}
        state.experiments = {e.id: ExperimentRun(e, templates) for e in config.experiments}
        for endpoint in config.endpoints:
            # One running experiment per endpoint (rule X005); a concluded one changes nothing.
            running = next(
                (
                    run
                    for run in state.experiments.values()
                    if run.experiment.endpoint == endpoint.name and run.experiment.is_running
                ),
                None,
            )
            limit = endpoint.limits.max_concurrent_requests if endpoint.limits else None
            runtime = EndpointRuntime(
                endpoint, openai_base(endpoint.backend), ConcurrencyGate(limit), running
            )
            if endpoint.canary is not None:
                runtime.split = CanarySplit(endpoint, endpoint.canary)
                runtime.canary = _canary_runtime(runtime, endpoint.canary)
            state.by_route[endpoint.route_name] = runtime
        return state

    @property
    def client(self) -> UpstreamPool:
        assert self.pool is not None, "the model-server pool is opened when the app starts"
        return self.pool


def _canary_runtime(stable: EndpointRuntime, canary: CanaryBackend) -> EndpointRuntime:
    """The canary's own model server and concurrency gate (its InferenceService has its own
    replicas); the prompt experiment applies to both variants."""
    endpoint = canary_as_endpoint(stable.endpoint, canary)
    limit = canary.limits.max_concurrent_requests if canary.limits else None
    return EndpointRuntime(
        endpoint,
        openai_base(canary.backend),
        ConcurrencyGate(limit),
        stable.experiment,
        split=stable.split,
        variant=CANARY,
    )


STATE: Final = web.AppKey("llmops_proxy_state", ProxyState)
