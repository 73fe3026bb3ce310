"""Promotion order (code family P, continued): production serves only what staging already runs."""

from __future__ import annotations

from collections.abc import Iterator

from compiler.check.approvals import current_digest
from compiler.check.rule import Finding, RelatedPlace, rule
from compiler.diagnostics import Category, Severity
from compiler.resolve.environment import ResolvedEnvironment

E = Severity.ERROR
# what decides which model versions an environment serves
_SERVED = frozenset({"ServingEndpoint", "Model"})


def _served_digests(env: ResolvedEnvironment) -> dict[str, str]:
    """Digest -> `name@version` of every model version an endpoint of `env` serves."""
    served: dict[str, str] = {}
    for endpoint in env.of_kind("ServingEndpoint"):
        model = env.resolve_model(endpoint.spec.model_id).manifest
        if model is not None:
            served[current_digest(env, model)] = f"{model.name}@{model.version}"
    return served


@rule(
    "P012",
    "promotion-order",
    E,
    "An endpoint serves a model version the required earlier environment does not serve.",
    category=Category.PROMOTION,
)
def promotion_order(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        With `promotion.requires: stg` in an environment's settings, every model version an endpoint
        there serves is also served by an endpoint in stg, with the same manifest digest, in the
        same revision of the repository. Checked by every `validate`, also `--env prod` alone.
    Why it matters:
        A model reaches production only after it ran in staging, and unchanged: the digest makes
        sure that an edit made on the way (another storage URI, other runtime settings) is staged
        too. Without it, "tested in staging" is a promise nobody checks.
    Wrong: prod serves a model version staging does not
        # file: environments/prod/serving/support-chat.yaml
        spec:
          modelId: support-model@1.0
        # file: environments/prod/environment.yaml
          promotion:
            requires: stg
        $ ls environments/stg
        environment.yaml
    Right: staging serves the same version first (`llmops promote` prepares that)
        # file: environments/stg/serving/support-chat.yaml
        spec:
          modelId: support-model@1.0
          route: /llm-ops/v1/serve/support-chat
          # Right: staging serves the same model version first.
    """
    required = env.settings.promotion.requires
    settings = env.settings_manifest
    if required is None or settings is None or required == env.name:
        return
    policy_place = (
        RelatedPlace(settings, ("spec", "promotion", "requires"), "the environment's policy"),
    )
    peer = env.peers.get(required)
    if peer is None:
        yield Finding(
            settings,
            ("spec", "promotion", "requires"),
            f"promotion requires environment `{required}`, which does not exist",
            "name an existing environment folder",
        )
        return
    if peer.settings_gap is not None or peer.gaps_holding(_SERVED):
        # what the required environment serves may be in a file that could not be read (its note
        # says so)
        return
    served = _served_digests(peer)
    for endpoint in env.of_kind("ServingEndpoint"):
        model = env.resolve_model(endpoint.spec.model_id).manifest
        if model is None:
            continue  # R001 reports it
        identity = f"{model.name}@{model.version}"
        if current_digest(env, model) in served:
            continue
        same_name = [ident for ident in served.values() if ident == identity]
        why = (
            f"{required} serves {identity} with a different manifest (digest)"
            if same_name
            else f"no endpoint in {required} serves {identity}"
        )
        yield Finding(
            endpoint,
            ("spec", "modelId"),
            f"{env.name} may only serve what {required} serves; {why}",
            f"promote it to {required} first: llmops promote {endpoint.name} --from <env> --to "
            f"{required}",
            related=policy_place,
        )


CHECKS = (promotion_order,)
