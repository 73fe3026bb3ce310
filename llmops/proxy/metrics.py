"""Prometheus metrics of one proxy, served at `/metrics` (its own registry, so several proxies can run
in one process, as in tests)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class ProxyMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("llmops_proxy_requests", "Requests by endpoint, API and HTTP status "
                                "(499: the client went away).", ("endpoint", "api", "code"), registry=self.registry)
        self.duration = Histogram("llmops_proxy_request_duration_seconds", "Time until the answer or stream "
                                  "ended.", ("endpoint", "api"), buckets=LATENCY_BUCKETS, registry=self.registry)
        self.in_flight = Gauge("llmops_proxy_in_flight_requests", "Requests being served by the model server.",
                               ("endpoint",), registry=self.registry)
        self.rejected = Counter("llmops_proxy_rejected_requests", "Requests refused before the model server: "
                                "unauthorized, forbidden, invalid, input_too_long, output_too_long, "
                                "too_many_requests.", ("endpoint", "reason"), registry=self.registry)
        self.upstream_errors = Counter("llmops_proxy_upstream_errors", "Model-server faults: connect, timeout, "
                                       "status, invalid_json, too_large, disconnected, stream_cut.",
                                       ("endpoint", "kind"), registry=self.registry)
        self.variant_requests = Counter("llmops_proxy_experiment_requests", "Requests per experiment variant.",
                                        ("experiment", "variant"), registry=self.registry)
        self.variant_errors = Counter("llmops_proxy_experiment_errors", "Failed requests per experiment variant.",
                                      ("experiment", "variant"), registry=self.registry)
        self.variant_latency = Histogram("llmops_proxy_experiment_latency_seconds", "Latency per experiment "
                                         "variant.", ("experiment", "variant"), buckets=LATENCY_BUCKETS,
                                         registry=self.registry)

        # Label lookups cost microseconds each; the hot path reuses the children (a bounded set:
        # endpoints x APIs x HTTP codes).
        self._children: dict[tuple[object, ...], Any] = {}

    def _child(self, metric: Counter | Gauge | Histogram, *labels: str) -> Any:
        key = (metric, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def started(self, endpoint: str) -> None:
        self._child(self.in_flight, endpoint).inc()

    def finished(self, endpoint: str, api: str, code: int, seconds: float) -> None:
        self._child(self.in_flight, endpoint).dec()
        self._child(self.requests, endpoint, api, str(code)).inc()
        self._child(self.duration, endpoint, api).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
