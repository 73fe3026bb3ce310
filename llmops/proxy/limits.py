"""An endpoint's runtime limits from its DeploymentSpec, enforced before a request reaches the
model.

- ``max_input_tokens``: a request whose estimated input (llmops/proxy/tokens.py: every text the
  model may read, not only the prompt) is larger gets a 400.
- ``max_output_tokens``: a ``max_tokens`` (or ``max_completion_tokens``) above it gets a 400 naming
  the limit, rather than being silently clamped: a caller asking for more than the endpoint gives
  should learn so, not receive a shorter answer that looks complete. A request without either is
  sent with ``max_tokens`` set to the limit, so the model server never generates past it.
- ``max_concurrent_requests``: requests in flight per endpoint, per proxy process; one more gets a
  429 with ``Retry-After``. Streams count until they end.
"""

from __future__ import annotations

from typing import Any, Final

from llmops.proxy.config import Limits
from llmops.proxy.tokens import estimate_request, most_tokens

RETRY_AFTER_SECONDS: Final = 1
OUTPUT_FIELDS: Final = ("max_tokens", "max_completion_tokens")
# inputs are counted exactly up to this many times the limit, then reported as "more than"
COUNT_FACTOR: Final = 16


class LimitExceeded(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def check_input(kind: str, body: dict[str, Any], limits: Limits, size: int | None = None) -> None:
    """Refuse an input above ``max_input_tokens``. Counting stops at ``COUNT_FACTOR`` times the
    limit, so a body of megabytes costs no more than one a little over the limit. ``size``: the
    bytes of the JSON text ``body`` was parsed from, when it is unchanged since: a body too small
    to reach the limit is not counted."""
    limit = limits.max_input_tokens
    if size is not None:
        bound = most_tokens(kind, body, size)
        if bound is not None and bound <= limit:
            return
    stop = limit * COUNT_FACTOR
    tokens = estimate_request(kind, body, budget=stop)
    if tokens > limit:
        amount = f"more than {stop}" if tokens > stop else f"about {tokens}"
        raise LimitExceeded(
            400,
            f"the input is {amount} tokens (estimated), more than this endpoint's "
            f"max_input_tokens of {limit}",
        )


def check_output(body: dict[str, Any], limits: Limits) -> None:
    """Refuse an output budget above ``max_output_tokens``; without one, set it to the limit."""
    asked = False
    for field in OUTPUT_FIELDS:
        value = body.get(field)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise LimitExceeded(400, f"{field} must be a positive integer, not {value!r}")
        if value > limits.max_output_tokens:
            raise LimitExceeded(
                400,
                f"{field} {value} is more than this endpoint's max_output_tokens of "
                f"{limits.max_output_tokens}; ask for at most {limits.max_output_tokens}",
            )
        asked = True
    if not asked:
        body["max_tokens"] = limits.max_output_tokens


class ConcurrencyGate:
    """Requests in flight for one endpoint. Used from one event loop only, so a plain counter
    suffices."""

    __slots__ = ("in_flight", "limit")

    def __init__(self, limit: int | None):
        self.limit = limit
        self.in_flight = 0

    def enter(self) -> None:
        if self.limit is not None and self.in_flight >= self.limit:
            raise LimitExceeded(
                429,
                f"this endpoint already has {self.limit} requests in flight "
                "(max_concurrent_requests); retry shortly",
                {"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        self.in_flight += 1

    def leave(self) -> None:
        self.in_flight -= 1
