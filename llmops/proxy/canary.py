"""Model canaries: which model version a user's requests go to, and what each variant did.

- Assignment is sticky, as for prompt experiments: a user's bucket (0-99) is a hash of the
  endpoint, the canary's model and the user; buckets below the weight get the canary. The same user
  gets the same variant on every proxy replica and after restarts; raising the weight only adds
  users to the canary (nobody moves back), and a new canary version draws its users afresh.
- The user is the OpenAI `user` field when the request names one (a service calling for its own
  users), else the caller's `X-User-Id`.
- Per variant: requests sent, errors (model-server failures and faults), latency until the answer
  (or stream) ends, output tokens where the model server reports usage; in `/metrics` as
  `llmops_proxy_canary_*{endpoint, variant}` and in the endpoint listing.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from typing import Any, Final

from compiler.target.canary import CANARY_SUFFIX
from llmops.proxy.backends import overridden_backend, override_env_name, parse_override
from llmops.proxy.config import CanaryBackend, Endpoint, ProxyConfig
from llmops.proxy.experiments import VariantStats

STABLE: Final = "stable"
CANARY: Final = "canary"


def canary_bucket(endpoint: str, canary_model_id: str, user: str) -> int:
    digest = hashlib.sha256(
        f"canary\x00{endpoint}\x00{canary_model_id}\x00{user}".encode()
    ).digest()
    return int.from_bytes(digest[:8], "big") % 100


def sticky_user(user_id: str, body: dict[str, Any]) -> str:
    """Whom the split is sticky for: the OpenAI `user` field when given, else `X-User-Id`."""
    user = body.get("user")
    return user if isinstance(user, str) and user else user_id


def canary_as_endpoint(endpoint: Endpoint, canary: CanaryBackend) -> Endpoint:
    """The endpoint as the canary's requests see it: the canary's model, backend and limits."""
    return endpoint.model_copy(
        update={
            "model_id": canary.model_id,
            "model": canary.model,
            "backend": canary.backend,
            "limits": canary.limits,
            "min_replicas": canary.min_replicas,
            "max_replicas": canary.max_replicas,
        }
    )


class CanarySplit:
    """One endpoint's split between its model and its canary, with each variant's statistics."""

    def __init__(self, endpoint: Endpoint, canary: CanaryBackend):
        self.endpoint = endpoint
        self.canary = canary
        self.stats = {
            STABLE: VariantStats(f"{endpoint.model.name}@{endpoint.model.version}"),
            CANARY: VariantStats(f"{canary.model.name}@{canary.model.version}"),
        }

    def variant_for(self, user: str) -> str:
        bucket = canary_bucket(self.endpoint.name, self.canary.model_id, user)
        return CANARY if bucket < self.canary.weight else STABLE

    def snapshot(self, statuses: dict[str, str] | None = None) -> dict[str, Any]:
        """The split as the endpoint listing shows it; ``statuses``: each variant's health."""
        variants = {}
        for name, stats in self.stats.items():
            shown = stats.snapshot()
            variants[name] = {
                "model": shown.pop("templateId"),
                "weight": self.canary.weight if name == CANARY else 100 - self.canary.weight,
                **({"status": statuses[name]} if statuses else {}),
                **shown,
            }
        return {
            "modelId": self.canary.model_id,
            "model": {"name": self.canary.model.name, "version": self.canary.model.version},
            "weight": self.canary.weight,
            "minReplicas": self.canary.min_replicas,
            "maxReplicas": self.canary.max_replicas,
            "variants": variants,
        }


def apply_canary_overrides(
    config: ProxyConfig, flags: Iterable[str], environ: Mapping[str, str] | None = None
) -> tuple[ProxyConfig, list[str]]:
    """Local addresses for canaries, named as their InferenceService (`<endpoint>-canary`) in
    `--backend` flags and `LLMOPS_PROXY_BACKEND_<NAME>_CANARY` variables; the other flags are
    returned for `apply_overrides`."""
    environ = os.environ if environ is None else environ
    by_name = {f"{e.name}{CANARY_SUFFIX}": e for e in config.endpoints if e.canary is not None}
    urls: dict[str, str] = {}
    for name in by_name:
        value = environ.get(override_env_name(name), "").strip()
        if value:
            urls[name] = value
    rest = []
    for flag in flags:
        name, url = parse_override(flag)
        if name in by_name:
            urls[name] = url
        else:
            rest.append(flag)
    if not urls:
        return config, rest
    endpoints = []
    for endpoint in config.endpoints:
        name = f"{endpoint.name}{CANARY_SUFFIX}"
        if name in urls and endpoint.canary is not None:
            backend = overridden_backend(endpoint.canary.backend, urls[name], name)
            canary = endpoint.canary.model_copy(update={"backend": backend})
            endpoint = endpoint.model_copy(update={"canary": canary})
        endpoints.append(endpoint)
    return config.model_copy(update={"endpoints": tuple(endpoints)}), rest
