"""Settings of a running proxy that are not part of the estate: secrets, timeouts, size bounds."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Final

from compiler.records import record

if TYPE_CHECKING:
    from llmops.proxy.governance import Caller

# the proxy Deployment fills it from `proxy.tokenSecretName`
TOKEN_ENV: Final = "LLMOPS_PROXY_TOKEN"


@record
class ProxyOptions:
    """Every wait and every buffer is bounded.

    - ``connect_timeout``: reaching the model server.
    - ``response_timeout``: a whole non-streamed answer (generation on a CPU can take minutes), and
      a stream's first bytes (prefill and queueing come before them).
    - ``stream_idle_timeout``: the longest gap between two pieces of a stream.
    - ``stream_timeout``: a whole stream.
    - ``health_timeout``: a readiness probe of a model server.
    - ``header_timeout``: a request's head, from its first byte until it is complete; and then its
      body.
    - ``keepalive_timeout``: an idle connection, before its first request or between two.
    - ``max_connections``: open client connections; at the cap, the longest-idle one is closed to
      make room, and when none is idle the new one gets a 503. The proxy lowers it to what its
      open-file limit allows (see ``llmops.proxy.guard.connection_cap``).
    - ``write_timeout``: a caller taking each piece of an answer (64 KiB, or a stream's events);
      one that does not is cut off (llmops/proxy/delivery.py).
    - ``max_request_bytes`` / ``max_response_bytes``: request bodies and non-streamed answers held
      in memory (answers counted once decompressed); streams are relayed event by event and never
      held.
    - ``max_held_bytes``: model-server answers held at once for all callers together (read, then
      written); past it, a 503 with `Retry-After`.
    """

    token: str | None = None
    # the caller of requests without X-User-Id (`--local-identity`, loopback only:
    # llmops/proxy/local_identity.py)
    local_identity: Caller | None = None
    connect_timeout: float = 5.0
    response_timeout: float = 300.0
    stream_idle_timeout: float = 60.0
    stream_timeout: float = 1800.0
    health_timeout: float = 2.0
    header_timeout: float = 10.0
    keepalive_timeout: float = 15.0
    write_timeout: float = 30.0
    max_connections: int = 1000
    max_request_bytes: int = 4 * 1024 * 1024
    max_response_bytes: int = 32 * 1024 * 1024
    max_held_bytes: int = 256 * 1024 * 1024

    @classmethod
    def from_environment(cls, **overrides: float | Caller | None) -> ProxyOptions:
        return cls(token=os.environ.get(TOKEN_ENV) or None, **overrides)  # type: ignore[arg-type]
