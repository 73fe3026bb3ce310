"""An endpoint's live figures, read from the proxy's own Prometheus metrics (the numbers `/metrics`
serves), so the console and a scraper never disagree."""

from __future__ import annotations

from compiler.records import record
from llmops.proxy.metrics import ProxyMetrics


@record
class Figures:
    requests: int
    errors: int  # answered 4xx or 5xx (refusals included), or the caller went away
    in_flight: int
    mean_ms: float | None
    p95_ms: float | None  # the upper bound of the latency bucket holding the 95th percentile

    def to_json(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "inFlight": self.in_flight,
            "meanMs": self.mean_ms,
            "p95Ms": self.p95_ms,
        }


def endpoint_figures(metrics: ProxyMetrics, endpoint: str) -> Figures:
    requests = errors = in_flight = 0
    seconds = 0.0
    observed = 0
    buckets: dict[float, float] = {}
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.labels.get("endpoint") != endpoint:
                continue
            if sample.name == "llmops_proxy_requests_total":
                count = int(sample.value)
                requests += count
                if not sample.labels.get("code", "").startswith(("1", "2", "3")):
                    errors += count
            elif sample.name == "llmops_proxy_in_flight_requests":
                in_flight += int(sample.value)
            elif sample.name == "llmops_proxy_request_duration_seconds_sum":
                seconds += sample.value
            elif sample.name == "llmops_proxy_request_duration_seconds_count":
                observed += int(sample.value)
            elif sample.name == "llmops_proxy_request_duration_seconds_bucket":
                bound = float(sample.labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + sample.value
    mean = seconds / observed * 1000 if observed else None
    return Figures(requests, errors, in_flight, mean, _p95(buckets, observed))


def _p95(buckets: dict[float, float], observed: int) -> float | None:
    if not observed:
        return None
    wanted = 0.95 * observed
    for bound in sorted(buckets):
        if buckets[bound] >= wanted:
            return None if bound == float("inf") else bound * 1000
    return None
