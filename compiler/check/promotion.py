"""Promotion order (code family P, continued): production serves only what staging already runs."""

from __future__ import annotations

from collections.abc import Iterator

from compiler.check.approvals import approval_state, current_digest
from compiler.check.rule import Finding, RelatedPlace, rule
from compiler.diagnostics import Category, Severity
from compiler.positions import Path
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.spec.serving import ServingEndpointSpec

E = Severity.ERROR
# what decides which model versions an environment serves, and which it still approves
_SERVED = frozenset({"ServingEndpoint", "Model"})
_APPROVED = frozenset({"Approval"})


def _served_digests(env: ResolvedEnvironment) -> dict[str, str]:
    """Digest -> `name@version` of every model version an endpoint of `env` serves."""
    served: dict[str, str] = {}
    for endpoint in env.of_kind("ServingEndpoint"):
        for _, reference in _served_references(endpoint):
            model = env.resolve_model(reference).manifest
            if model is not None:
                served[current_digest(env, model)] = f"{model.name}@{model.version}"
    return served


def _served_references(endpoint: Manifest[ServingEndpointSpec]) -> list[tuple[Path, str]]:
    """The model versions an endpoint serves to users: its model, and its canary's."""
    served: list[tuple[Path, str]] = [(("spec", "modelId"), endpoint.spec.model_id)]
    if endpoint.spec.canary is not None:
        served.append((("spec", "canary", "model"), endpoint.spec.canary.model))
    return served


def _still_approved(peer: ResolvedEnvironment, identity: str, digest: str) -> bool:
    """Whether `peer` approves this very manifest (same digest) as its policy requires: a version
    it served before a newer one was promoted into it keeps its approvals there."""
    model = peer.resolve_model(identity).manifest
    return (
        model is not None
        and current_digest(peer, model) == digest
        and approval_state(peer, model).approved
    )


def _endpoint_serves(peer: ResolvedEnvironment, endpoint: str) -> str | None:
    """`name@version` the peer's endpoint of that name serves, if it has one that resolves."""
    found = peer.resolve_named("ServingEndpoint", endpoint).manifest
    if found is None:
        return None
    model = peer.resolve_model(found.spec.model_id).manifest
    return None if model is None else f"{model.name}@{model.version}"


@rule(
    "P012",
    "promotion-order",
    E,
    "An endpoint serves a model version the required earlier environment neither serves nor "
    "approves.",
    category=Category.PROMOTION,
)
def promotion_order(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        With `promotion.requires: stg` in an environment's settings, every model version an endpoint
        there serves (its model, and its canary's) has gone through stg unchanged (same manifest
        digest, in the same revision of the repository): stg serves it, or stg still approves it as
        stg's policy requires. Checked by every `validate`, also `--env prod` alone.
    Why it matters:
        A model reaches production only after it ran in staging, and unchanged: the digest makes
        sure that an edit made on the way (another storage URI, other runtime settings) is staged
        too. Without it, "tested in staging" is a promise nobody checks. Accepting what stg still
        approves keeps a promotion chain moving: promoting a new version into stg leaves prod on
        the version stg served before, which stays approved in stg until it is promoted on to
        prod; withdrawing stg's approval of a version withdraws prod's permission to serve it.
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
    if peer.broken_names.get("ServingEndpoint"):
        return  # an endpoint there is not valid (reported there): it may serve anything
    served = _served_digests(peer)
    served_here = [
        (endpoint, path, reference)
        for endpoint in env.of_kind("ServingEndpoint")
        for path, reference in _served_references(endpoint)
    ]
    for endpoint, path, reference in served_here:
        model = env.resolve_model(reference).manifest
        if model is None:
            continue  # R001 reports it
        identity = f"{model.name}@{model.version}"
        digest = current_digest(env, model)
        if digest in served or _still_approved(peer, identity, digest):
            continue
        if peer.resolve_model(identity).status == "broken":
            continue  # the version is not valid there (reported there)
        if peer.gaps_holding(_APPROVED):
            continue  # an approval there may be in a file that could not be read
        same_name = [ident for ident in served.values() if ident == identity]
        why = (
            f"{required} serves {identity} with a different manifest (digest)"
            if same_name
            else f"{required} neither serves nor approves {identity}"
        )
        there = _endpoint_serves(peer, endpoint.name)
        if there is not None and there != identity:
            hint = (
                f"{required}'s `{endpoint.name}` serves {there}: bring {env.name} up to it with "
                f"`llmops promote {endpoint.name} --from {required} --to {env.name}`; to serve "
                f"{identity} here, it must run (or stay approved) in {required} first"
            )
        else:
            hint = (
                f"promote it to {required} first (`llmops promote {endpoint.name} --from <env> "
                f"--to {required}`), then from {required} to {env.name}"
            )
        yield Finding(
            endpoint,
            path,
            f"{env.name} may only serve what went through {required}; {why}",
            hint,
            related=policy_place,
        )


CHECKS = (promotion_order,)
