"""A request's metric updates skip prometheus_client's public methods (llmops/proxy/metrics.py);
what `/metrics` shows must be exactly what those methods would have counted."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from llmops.proxy.metrics import LATENCY_BUCKETS, ProxyMetrics

FAMILIES = (
    "llmops_proxy_requests",
    "llmops_proxy_request_duration_seconds",
    "llmops_proxy_in_flight_requests",
)


def samples(exposition: bytes) -> list[str]:
    """The sample lines of the three families a finished request updates, creation times aside."""
    return [
        line
        for line in exposition.decode().splitlines()
        if line.startswith(FAMILIES) and "_created" not in line
    ]


def durations() -> list[float]:
    """Every bucket bound, just under and over each, nothing, and past the last bound."""
    near = [d for bound in LATENCY_BUCKETS for d in (bound * 0.999, bound, bound * 1.001)]
    return [0.0, *near, LATENCY_BUCKETS[-1] * 10]


def test_the_exposition_is_what_the_public_methods_would_count() -> None:
    metrics = ProxyMetrics(frozenset({"chat"}))
    registry = CollectorRegistry()
    requests = Counter("llmops_proxy_requests", "", ("endpoint", "api", "code"), registry=registry)
    duration = Histogram(
        "llmops_proxy_request_duration_seconds",
        "",
        ("endpoint", "api"),
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    in_flight = Gauge("llmops_proxy_in_flight_requests", "", ("endpoint",), registry=registry)
    calls = [
        (endpoint, api, code, seconds)
        for seconds in durations()
        for endpoint, api, code in (
            ("chat", "chat", 200),
            ("chat", "openai", 502),
            ("x", "chat", 404),
        )
    ]
    for endpoint, api, code, seconds in calls:
        metrics.started(endpoint)
        label = metrics.endpoint_label(endpoint)
        in_flight.labels(label).inc()
        metrics.finished(endpoint, api, code, seconds)
        in_flight.labels(label).dec()
        requests.labels(label, api, str(code)).inc()
        duration.labels(label, api).observe(seconds)
    metrics.started("chat")  # one still running
    in_flight.labels("chat").inc()

    ours, theirs = samples(metrics.exposition()), samples(generate_latest(registry))
    assert any("_bucket{" in line for line in ours)
    assert ours == theirs
