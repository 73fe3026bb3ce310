"""Prometheus metrics of one proxy, served at `/metrics` (its own registry, so several proxies can
run in one process, as in tests).

With several worker processes (`llmops proxy --workers N`), every worker keeps its values in files
in one directory (`share_with_workers`, called in each worker and only there: the process that
starts them, perhaps a test or a script, keeps prometheus_client as it was) and `/metrics`,
whichever worker answers it, adds up all of them: Prometheus sees one proxy per pod, as with one
worker.

Every label value comes from a closed set: endpoint names from the configuration (a name nobody
configured, as a caller may put in a URL, is counted under `UNKNOWN_ENDPOINT`), experiment ids and
variants from the configuration, APIs, reasons and fault kinds from the code, and HTTP codes from
the standard ones. So the number of series, and the memory they take, is fixed by the configuration,
whatever callers or model servers send.
"""

from __future__ import annotations

import math
import os
from bisect import bisect_left
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS: Final = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
)
# prometheus_client's setting: where the workers of one proxy keep their values
MULTIPROCESS_DIR: Final = "PROMETHEUS_MULTIPROC_DIR"


class MetricsLost(Exception):
    """The metrics the workers share are gone: `/metrics` says so (503) instead of failing."""


_shared: dict[str, str] = {}  # "directory": set in a worker process by share_with_workers
# endpoint names are DNS labels, so no configured name can look like this
UNKNOWN_ENDPOINT: Final = "(unknown)"
CLIENT_CLOSED: Final = 499  # nginx's code for a client that went away
_CODES: Final = frozenset(status.value for status in HTTPStatus) | {CLIENT_CLOSED}


def code_label(status: int) -> str:
    """A model server may answer any three digits; codes HTTP does not define share one label."""
    return str(status) if status in _CODES else "other"


def share_with_workers(directory: str) -> None:
    """Keep this process's metric values in files in ``directory``, beside its sibling workers',
    and answer `/metrics` with the sum of all of them. Only for a worker process (forked to serve,
    never returning), before its metrics are made: the change is for the rest of the process's
    life."""
    os.environ[MULTIPROCESS_DIR] = directory  # prometheus_client reads it on opening each file
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    _shared["directory"] = directory


Add = Callable[[float], None]


class _LoopValue:
    """A child's value in a proxy of one process, in place of prometheus_client's, which takes a
    lock for every update and read: Python code costing about 3,000 instructions each, five times
    a request. The proxy's one event loop makes every update, so there is nothing to lock; a
    thread that only reads (a test) sees a float, whole. The interface is prometheus_client's."""

    __slots__ = ("_exemplar", "_value")

    def __init__(self, value: float) -> None:
        self._value = value
        self._exemplar: Any = None

    def inc(self, amount: float) -> None:
        self._value += amount

    def set(self, value: float, timestamp: float | None = None) -> None:
        self._value = value

    def set_exemplar(self, exemplar: Any) -> None:
        self._exemplar = exemplar

    def get(self) -> float:
        return self._value

    def get_exemplar(self) -> Any:
        return self._exemplar


def _own_values(child: Counter | Gauge | Histogram) -> None:
    """Give a new child ``_LoopValue``s in place of prometheus_client's lock-taking ones, when it
    has those (a worker of several keeps its values in files, which stay as they are)."""
    for slot in ("_value", "_sum"):
        value = getattr(child, slot, None)
        if type(value) is values.MutexValue:
            setattr(child, slot, _LoopValue(value.get()))  # type: ignore[no-untyped-call]
    buckets = getattr(child, "_buckets", None)
    if isinstance(buckets, list):
        buckets[:] = [
            _LoopValue(bucket.get())  # type: ignore[no-untyped-call]
            if type(bucket) is values.MutexValue
            else bucket
            for bucket in buckets
        ]


def _adder(child: Counter | Gauge) -> Add:
    """What ``child.inc`` (and a gauge's ``dec``, with a negative amount) does, without its checks,
    which a child of a labelled metric passes by construction: its value's own ``inc`` (the one
    of this process, or of its worker's file). The hot path updates three or four values per
    request, and the public methods' layers cost more than the updates. A prometheus_client
    whose children keep no such value gets the public method."""
    add: Add | None = getattr(getattr(child, "_value", None), "inc", None)
    return add if callable(add) else child.inc


def _observer(child: Histogram) -> Add:
    """What ``child.observe`` does without its checks: the sum, and the first bucket whose upper
    bound is at least the amount (found by bisection; the bounds end with +Inf). The public method
    for a prometheus_client whose children are not made so."""
    bounds = getattr(child, "_upper_bounds", None)
    buckets = getattr(child, "_buckets", None)
    total = getattr(child, "_sum", None)
    if not (isinstance(bounds, list) and isinstance(buckets, list) and total is not None):
        return child.observe
    if len(bounds) != len(buckets) or bounds[-1] != math.inf or bounds != sorted(bounds):
        return child.observe
    add_to_sum = total.inc
    add_to_bucket = [bucket.inc for bucket in buckets]

    def observe(amount: float) -> None:
        add_to_sum(amount)
        add_to_bucket[bisect_left(bounds, amount)](1)

    return observe


class ProxyMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, endpoints: frozenset[str] = frozenset()) -> None:
        self.endpoints = endpoints
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "llmops_proxy_requests",
            "Requests by endpoint, API and HTTP status (499: the client went away).",
            ("endpoint", "api", "code"),
            registry=self.registry,
        )
        self.duration = Histogram(
            "llmops_proxy_request_duration_seconds",
            "Time until the answer or stream ended.",
            ("endpoint", "api"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "llmops_proxy_in_flight_requests",
            "Requests being served by the model server.",
            ("endpoint",),
            registry=self.registry,
            multiprocess_mode="livesum",  # the workers' together, of those running
        )
        self.rejected = Counter(
            "llmops_proxy_rejected_requests",
            "Requests refused before the model server: "
            "not_found, unauthorized, forbidden, invalid, wrong_target, input_too_long, "
            "output_too_long, too_many_requests.",
            ("endpoint", "reason"),
            registry=self.registry,
        )
        self.upstream_errors = Counter(
            "llmops_proxy_upstream_errors",
            "Model-server faults: connect, timeout, "
            "status, redirect, invalid_json, too_large, disconnected, stream_cut.",
            ("endpoint", "kind"),
            registry=self.registry,
        )
        self.variant_requests = Counter(
            "llmops_proxy_experiment_requests",
            "Requests per experiment variant.",
            ("experiment", "variant"),
            registry=self.registry,
        )
        self.variant_errors = Counter(
            "llmops_proxy_experiment_errors",
            "Failed requests per experiment variant.",
            ("experiment", "variant"),
            registry=self.registry,
        )
        self.variant_latency = Histogram(
            "llmops_proxy_experiment_latency_seconds",
            "Latency per experiment variant.",
            ("experiment", "variant"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.canary_requests = Counter(
            "llmops_proxy_canary_requests",
            "Requests per endpoint with a canary and variant (stable, canary).",
            ("endpoint", "variant"),
            registry=self.registry,
        )
        self.canary_errors = Counter(
            "llmops_proxy_canary_errors",
            "Failed requests per endpoint with a canary and variant (stable, canary).",
            ("endpoint", "variant"),
            registry=self.registry,
        )
        self.canary_latency = Histogram(
            "llmops_proxy_canary_latency_seconds",
            "Latency per endpoint with a canary and variant (stable, canary).",
            ("endpoint", "variant"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.connections_closed = Counter(
            "llmops_proxy_connections_closed",
            "Connections the proxy closed: "
            "evicted (idle, to make room under --max-connections), refused (all "
            "busy), header_timeout, body_timeout.",
            ("reason",),
            registry=self.registry,
        )

        # Label lookups cost microseconds each; the hot path reuses the children (a bounded set, as
        # the labels are).
        self._children: dict[tuple[object, ...], Any] = {}
        # what a finished request updates (_adder, _observer), by (endpoint label, API, status)
        self._finishing: dict[tuple[str, str, int], tuple[Add, Add, Add]] = {}
        # what a started request updates, by endpoint name (configured ones only)
        self._starting: dict[str, Add] = {}

    def endpoint_label(self, name: str) -> str:
        return name if name in self.endpoints else UNKNOWN_ENDPOINT

    def _child(self, metric: Counter | Gauge | Histogram, *labels: str) -> Any:
        key = (metric, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
            _own_values(child)
        return child

    def started(self, endpoint: str) -> None:
        add = self._starting.get(endpoint)
        if add is None:
            add = _adder(self._child(self.in_flight, self.endpoint_label(endpoint)))
            if endpoint in self.endpoints:  # bounded by the configuration
                self._starting[endpoint] = add
        add(1)

    def finished(self, endpoint: str, api: str, code: int, seconds: float) -> None:
        label = self.endpoint_label(endpoint)
        key = (label, api, code)  # bounded: labels, APIs and three-digit codes
        updates = self._finishing.get(key)
        if updates is None:
            updates = self._finishing[key] = (
                _adder(self._child(self.in_flight, label)),
                _adder(self._child(self.requests, label, api, code_label(code))),
                _observer(self._child(self.duration, label, api)),
            )
        in_flight, requests, duration = updates
        in_flight(-1)
        requests(1)
        duration(seconds)

    def refused(self, endpoint: str, api: str, reason: str, code: int) -> None:
        label = self.endpoint_label(endpoint)
        self._child(self.rejected, label, reason).inc()
        self._child(self.requests, label, api, code_label(code)).inc()

    def upstream_error(self, endpoint: str, kind: str) -> None:
        self._child(self.upstream_errors, self.endpoint_label(endpoint), kind).inc()

    def variant(self, experiment: str, variant: str, seconds: float, failed: bool) -> None:
        """Only called for configured experiments and their two variants."""
        self._child(self.variant_requests, experiment, variant).inc()
        self._child(self.variant_latency, experiment, variant).observe(seconds)
        if failed:
            self._child(self.variant_errors, experiment, variant).inc()

    def canary_variant(self, endpoint: str, variant: str, seconds: float, failed: bool) -> None:
        """Only called for configured endpoints with a canary and their two variants."""
        self._child(self.canary_requests, endpoint, variant).inc()
        self._child(self.canary_latency, endpoint, variant).observe(seconds)
        if failed:
            self._child(self.canary_errors, endpoint, variant).inc()

    def connection_closed(self, reason: str) -> None:
        self._child(self.connections_closed, reason).inc()

    def exposition(self) -> bytes:
        """The Prometheus text of every worker's metrics. **Raises:** ``MetricsLost`` when the
        workers' shared folder was removed while they ran (a clean-up of /tmp)."""
        directory = _shared.get("directory")
        if directory is not None:
            from prometheus_client.multiprocess import MultiProcessCollector

            if not os.path.isdir(directory):
                raise MetricsLost(
                    f"the workers' metrics folder {directory} was removed while the proxy ran; "
                    "restart the proxy to count again"
                )

            workers = CollectorRegistry()
            MultiProcessCollector(workers, path=directory)  # type: ignore[no-untyped-call]
            return generate_latest(workers)
        return generate_latest(self.registry)
