"""Model canaries (code family T): a second model version beside an endpoint's model.

Approval (P001), the promotion order (P012) and the references (R001, R008) cover the canary's
model like the endpoint's own; the rules here are the canary's own: its weight, what it may differ
in, whether production has room for it, whether it fits its GPUs and whether its names fit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any, cast

from compiler.capacity.canary import canary_endpoint, canary_gpus, endpoints_with_canaries
from compiler.check import capacity, serving
from compiler.check.rollout import PRODUCTION_NAMES
from compiler.check.rule import CheckFunction, Finding, RelatedPlace, rule
from compiler.diagnostics import Category, Severity
from compiler.positions import Path
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.spec.canary import MAX_WEIGHT
from compiler.spec.serving import ServingEndpointSpec
from compiler.target import naming
from compiler.target.canary import canary_label_names, canary_service_name

E = Severity.ERROR
CANARY: Path = ("spec", "canary")


@rule(
    "T001",
    "canary-weight-out-of-range",
    E,
    "A canary's weight is not a percentage between 0 and 100.",
    category=Category.SERVING,
)
def canary_weight_out_of_range(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        An endpoint's `canary.weight`, the percentage of users whose requests the canary serves, is
        between 0 and 100. 0 runs the canary without traffic (loaded, its health visible); 100
        sends every user to it while the endpoint's model keeps running for a quick abort.
    Why it matters:
        The proxy assigns each user a bucket from 0 to 99 and sends buckets below the weight to the
        canary: a weight above 100 would mean the same as 100 and hide a typo (500 for 50), a
        negative one the same as 0.
    Wrong: 500, a typo for 50
        # file: environments/dev/serving/support-chat.yaml
          canary:
            model: support-model@1.1
            # Wrong: 500, a typo for 50.
            weight: 500
    Right:
        # file: environments/dev/serving/support-chat.yaml
          canary:
            model: support-model@1.1
            weight: 50
    """
    for endpoint in env.of_kind("ServingEndpoint"):
        canary = endpoint.spec.canary
        if canary is not None and not 0 <= canary.weight <= MAX_WEIGHT:
            yield Finding(
                endpoint,
                (*CANARY, "weight"),
                f"canary weight is {canary.weight}; it must be a percentage between 0 and "
                f"{MAX_WEIGHT}",
                "10 is a common first step; promote the canary instead of going past 100",
            )


@rule(
    "T002",
    "canary-same-as-model",
    E,
    "A canary serves the version the endpoint already serves.",
    category=Category.SERVING,
)
def canary_same_as_model(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        An endpoint's `canary.model` names another model version than its `modelId` (either may
        be written `name@version` or `name-version`).
    Why it matters:
        A canary of the version already served splits traffic between two copies of one model: its
        metrics compare nothing, and it costs a second InferenceService. It is usually a promotion
        left half done: the model was changed to the canary's version, the canary not removed.
    Wrong: promoted, but the canary was left in
        # file: environments/dev/serving/support-chat.yaml
          modelId: support-model@1.1
        ...
          canary:
            # Wrong: promoted, but the canary was left in.
            model: support-model-1.1
    Right: the canary removed once it became the model
        # file: environments/dev/serving/support-chat.yaml
          modelId: support-model@1.1
          route: /llm-ops/v1/serve/support-chat
          # The canary was removed once it became the model.
    """
    for endpoint in env.of_kind("ServingEndpoint"):
        canary = endpoint.spec.canary
        if canary is None:
            continue
        model = env.resolve_model(endpoint.spec.model_id).manifest
        candidate = env.resolve_model(canary.model).manifest
        if model is not None and model is candidate:
            yield Finding(
                endpoint,
                (*CANARY, "model"),
                f"the canary serves {model.name}@{model.version}, the version modelId serves "
                "already",
                "remove `canary` once it is promoted, or name the new version here",
                related=(RelatedPlace(endpoint, ("spec", "modelId"), "the endpoint's model"),),
            )


@rule(
    "T003",
    "canary-without-spare-capacity",
    E,
    "A single-replica production endpoint has a canary the spare GPUs cannot hold.",
    category=Category.POLICY,
)
def canary_without_spare_capacity(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        In an environment named `prod` or `production`, an endpoint with `minReplicas` of 1 or
        less has a canary only when the environment's spare GPUs (`gpu.spareGpus`, the GPUs kept
        free beyond what the endpoints request) hold the canary: its GPUs per replica times its
        minReplicas (a CPU-only canary needs none). The canary's minReplicas is the endpoint's
        times the weight, rounded up, at least 1.
    Why it matters:
        The canary runs as a second InferenceService whose pods need GPUs of their own. Where there
        are none to spare, its pods stay Pending, or take the GPUs a rollout of the endpoint's one
        replica would surge into: that rollout then replaces the only pod and the endpoint is down
        while the new one loads.
    Wrong: one replica, no spare GPU
        # file: environments/prod/serving/support-chat.yaml
          minReplicas: 1
        ...
          canary:
            model: support-model@1.1
            weight: 10
        # file: environments/prod/environment.yaml
          gpu:
            memoryGiB: 80
            # Wrong: no GPU is kept spare for the canary's replica.
            spareGpus: 0
    Right: one GPU kept spare for the canary's replica
        # file: environments/prod/environment.yaml
          gpu:
            memoryGiB: 80
            # One GPU kept spare: the canary's one replica takes it.
            spareGpus: 1
    """
    if env.name not in PRODUCTION_NAMES:
        return
    spare = env.settings.gpu.spare_gpus
    for endpoint, canary in endpoints_with_canaries(env):
        needed = canary_gpus(canary)
        if endpoint.spec.min_replicas > 1 or needed <= spare:
            continue
        yield Finding(
            endpoint,
            CANARY,
            f"`{env.name}` runs this endpoint on {endpoint.spec.min_replicas} replica and its "
            f"canary needs {needed} GPU{'s' if needed != 1 else ''}, but gpu.spareGpus is {spare}",
            f"keep {needed} GPU{'s' if needed != 1 else ''} spare (gpu.spareGpus: {needed}) or "
            "run the endpoint on minReplicas: 2 first",
            related=_spare_place(env),
            key=True,
        )


def _spare_place(env: ResolvedEnvironment) -> tuple[RelatedPlace, ...]:
    settings = env.settings_manifest
    if settings is None:
        return ()
    return (RelatedPlace(settings, ("spec", "gpu", "spareGpus"), "the environment's spare GPUs"),)


class _CanaryView:
    """The environment as the capacity checks see it when every endpoint is its canary."""

    def __init__(self, env: ResolvedEnvironment, canaries: Sequence[Manifest]):
        self._env = env
        self._canaries = canaries

    def of_kind(self, kind: str) -> Sequence[Manifest]:
        if kind == "ServingEndpoint":
            return self._canaries
        return ResolvedEnvironment.of_kind(self._env, kind)  # type: ignore[call-overload,no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._env, name)


def _capacity_checks() -> list[CheckFunction]:
    """The capacity rules that stop a workload from starting (errors), whichever module holds
    them."""
    return [
        check
        for check in (*capacity.CHECKS, *serving.CHECKS)
        if check.rule.category is Category.CAPACITY and check.rule.severity is Severity.ERROR
    ]


def _canary_path(endpoint: Manifest[ServingEndpointSpec], path: Path) -> Path:
    """Where the canary's manifest says what a capacity finding is about: its own override, its
    model, its weight (for replicas), else the endpoint's field it shares."""
    canary = endpoint.spec.canary
    assert canary is not None
    overrides = canary.deployment_spec
    if path[:2] == ("spec", "modelId"):
        return (*CANARY, "model")
    if path[:2] in (("spec", "minReplicas"), ("spec", "maxReplicas")):
        return (*CANARY, "weight")
    overridden = (
        overrides is not None
        and len(path) >= 3
        and path[:2] == ("spec", "deploymentSpec")
        and getattr(overrides, str(path[2]), None) is not None
    )
    return (*CANARY, "deploymentSpec", *path[2:]) if overridden else path


@rule(
    "T004",
    "canary-does-not-fit",
    E,
    "A canary's model does not fit the canary's GPUs or memory.",
    category=Category.CAPACITY,
)
def canary_does_not_fit(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        The capacity checks that stop a replica from starting (the error rules of category
        capacity: weights on the GPUs, one sequence in the KV cache, GPUs that divide the heads,
        CPU memory, the model's context) hold for the canary as well: its model, on the endpoint's
        resources or the canary's own `deploymentSpec.resources` and `runtime`. The message is the
        capacity rule's, with its code.
    Why it matters:
        A canary's version can be larger than the endpoint's (a 13B after a 7B) or run on other
        resources; one that does not fit crash-loops its own InferenceService while the endpoint
        looks healthy, and the users the proxy sends to it get errors.
    Wrong: the canary moves to a smaller GPU
        # file: environments/dev/serving/support-chat.yaml
          canary:
            model: support-model@1.1
            weight: 50
            # Wrong: the canary moves to a 16 GiB GPU, too small for the 8B model's weights.
            deploymentSpec:
              resources:
                gpus: 1
                gpu_memory_gb: 16
    Right: the canary keeps the endpoint's 80 GiB GPU
        # file: environments/dev/serving/support-chat.yaml
          canary:
            model: support-model@1.1
            weight: 50
            # The canary keeps the endpoint's resources: one 80 GiB GPU per replica.
    """
    pairs = endpoints_with_canaries(env)
    if not pairs:
        return
    endpoint_of = {id(canary): endpoint for endpoint, canary in pairs}
    view = cast(ResolvedEnvironment, _CanaryView(env, [canary for _, canary in pairs]))
    for check in _capacity_checks():
        for finding in check(view):
            endpoint = endpoint_of.get(id(finding.manifest))
            if endpoint is None or endpoint.spec.canary is None:
                continue  # a training job's finding: reported by the rule itself
            yield replace(
                finding,
                manifest=endpoint,
                path=_canary_path(endpoint, finding.path),
                message=f"the canary ({endpoint.spec.canary.model}): {finding.message} "
                f"({check.rule.code})",
                related=tuple(
                    replace(place, manifest=endpoint, path=_canary_path(endpoint, place.path))
                    if id(place.manifest) in endpoint_of
                    else place
                    for place in finding.related
                ),
            )


@rule(
    "T005",
    "canary-name-too-long",
    E,
    "A name derived for an endpoint's canary is longer than Kubernetes allows.",
    category=Category.NAMING,
)
def canary_name_too_long(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        The canary's InferenceService is named `<endpoint>-canary`; KServe derives from it the
        predictor `<endpoint>-canary-predictor` and the host label
        `<endpoint>-canary-<namespace>`, each of which must fit in one DNS label (63 characters).
    Why it matters:
        KServe refuses, or fails to create the Service or route for, an InferenceService whose
        derived names are too long: the endpoint's own names fit (K002), so only adding the canary
        would break the sync.
    Wrong: a long endpoint name in a long namespace
        # file: environments/dev/serving/support-chat.yaml
        metadata:
          # Wrong: with the canary's suffix, its derived names exceed 63 characters.
          name: support-llama-3-8b-sft-v2-eu-west-chat-assistant
        ...
          canary:
    Right: a shorter endpoint name
        # file: environments/dev/serving/support-chat.yaml
        metadata:
          # A short name leaves room for the canary's suffix.
          name: support-chat
    """
    for endpoint in env.of_kind("ServingEndpoint"):
        if endpoint.spec.canary is None:
            continue
        for what, derived in canary_label_names(endpoint.name, env.namespace):
            if len(derived) > naming.MAX_LABEL:
                yield Finding(
                    endpoint,
                    ("metadata", "name"),
                    f'the {what} "{derived}" would be {len(derived)} characters; the limit is '
                    f"{naming.MAX_LABEL}",
                    f"shorten the endpoint's name by {len(derived) - naming.MAX_LABEL} characters "
                    "or more",
                )
                break


@rule(
    "T006",
    "canary-beside-adapters",
    E,
    "An endpoint that serves LoRA adapters has a canary.",
    category=Category.SERVING,
)
def canary_beside_adapters(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        An endpoint with `adapters` (LoRA adapters served beside its model) has no `canary`: the
        canary's InferenceService serves the canary's model alone.
    Why it matters:
        An adapter is trained on one base model version and is served on it; the canary's version
        is another base, which the adapters were not trained on. Serving them on it would change
        the adapters' answers without anyone approving that, and serving none would fail every
        request of the canary's users that names an adapter. Roll out a new base with its
        adapters retrained as a new endpoint, or promote the adapters with it.
    Wrong: adapters and a canary
        # file: environments/dev/serving/support-chat.yaml
          adapters:
            - support-sft@1.0
          # Wrong: the adapter was trained on 1.0, not on the canary's 1.1.
          canary:
            model: support-model@1.1
            weight: 50
    Right: the adapter alone
        # file: environments/dev/serving/support-chat.yaml
          # The adapter alone; 1.1 rolls out with its adapter retrained, on an endpoint of its own.
          adapters:
            - support-sft@1.0
    """
    for endpoint in env.of_kind("ServingEndpoint"):
        if endpoint.spec.canary is not None and endpoint.spec.adapters:
            yield Finding(
                endpoint,
                CANARY,
                "an endpoint that serves LoRA adapters cannot have a canary: the adapters were "
                "trained on the endpoint's model, not on the canary's",
                "remove the canary, or serve the new version on an endpoint of its own",
                related=(RelatedPlace(endpoint, ("spec", "adapters"), "the adapters"),),
                key=True,
            )


@rule(
    "T007",
    "canary-name-taken",
    E,
    "An endpoint's canary would take the name of another endpoint's InferenceService.",
    category=Category.NAMING,
)
def canary_name_taken(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        No endpoint is named like another endpoint's canary: the canary of `support-chat` is the
        InferenceService `support-chat-canary`, so an endpoint `support-chat-canary` in the same
        environment may not exist while `support-chat` has a canary.
    Why it matters:
        Both would render an InferenceService (and KServe a predictor Deployment and Service) of the
        same name in one namespace: one would overwrite the other on every sync, and the proxy
        would send the canary's users to the other endpoint's model, or the reverse.
    Wrong: an endpoint named like the canary of support-chat
        # file: environments/dev/serving/support-chat.yaml
        metadata:
          name: support-chat
        ...
          canary:
            model: support-model@1.1
        # file: environments/dev/serving/support-chat-canary.yaml
        metadata:
          # Wrong: support-chat's canary is the InferenceService support-chat-canary.
          name: support-chat-canary
    Right: a name no canary takes
        # file: environments/dev/serving/support-chat-next.yaml
        metadata:
          # A name no canary takes.
          name: support-chat-next
    """
    services = {
        naming.inference_service_name(endpoint.name): endpoint
        for endpoint in env.of_kind("ServingEndpoint")
    }
    for endpoint in env.of_kind("ServingEndpoint"):
        if endpoint.spec.canary is None:
            continue
        other = services.get(canary_service_name(endpoint.name))
        if other is not None:
            yield Finding(
                other,
                ("metadata", "name"),
                f"endpoint `{endpoint.name}` has a canary, whose InferenceService is named "
                f"`{canary_service_name(endpoint.name)}` like this endpoint's",
                "rename this endpoint; names ending in -canary are taken by canaries",
                related=(RelatedPlace(endpoint, CANARY, "the canary"),),
            )


@rule(
    "T008",
    "canary-gpu-policy",
    E,
    "A canary's own resources break the environment's GPU policy.",
    category=Category.POLICY,
)
def canary_gpu_policy(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Where a canary writes its own `deploymentSpec.resources`, its GPUs per replica follow the
        environment's GPU policy as the endpoint's must (P007-P009): none where `gpu.allowed` is
        false, at most `gpu.maxPerEndpoint`, at least one where `gpu.required` is true.
    Why it matters:
        The canary's InferenceService is scheduled like any other: a replica asking for more GPUs
        than a node of the environment has stays Pending, and a CPU-only canary in an environment
        that serves on GPUs would give its users answers at seconds per token.
    Wrong: the canary asks for four GPUs where replicas may have two
        # file: environments/stg/serving/support-chat.yaml
            deploymentSpec:
              resources:
                # Wrong: stg allows at most two GPUs per replica.
                gpus: 4
        # file: environments/stg/environment.yaml
          gpu:
            memoryGiB: 80
            maxPerEndpoint: 2
    Right: within the limit
        # file: environments/stg/serving/support-chat.yaml
            deploymentSpec:
              resources:
                # Within stg's limit of two.
                gpus: 2
    """
    policy = env.settings.gpu
    for endpoint in env.of_kind("ServingEndpoint"):
        canary = endpoint.spec.canary
        overrides = canary.deployment_spec if canary is not None else None
        if overrides is None or overrides.resources is None:
            continue
        gpus = overrides.resources.gpus
        path = (*CANARY, "deploymentSpec", "resources", "gpus")
        if gpus > 0 and not policy.allowed:
            problem, hint, setting = "GPUs are not allowed", "set gpus: 0", "allowed"
        elif gpus > policy.max_per_endpoint and policy.allowed:
            problem = f"at most {policy.max_per_endpoint} GPUs per replica are allowed"
            hint, setting = f"set gpus <= {policy.max_per_endpoint}", "maxPerEndpoint"
        elif gpus == 0 and policy.required:
            problem, hint, setting = "GPU serving is required", "set gpus >= 1", "required"
        else:
            continue
        yield Finding(
            endpoint,
            path,
            f"the canary requests {gpus} GPU{'s' if gpus != 1 else ''} per replica, but in "
            f"environment `{env.name}` {problem}",
            hint,
            related=_policy_setting(env, setting),
        )


def _policy_setting(env: ResolvedEnvironment, setting: str) -> tuple[RelatedPlace, ...]:
    settings = env.settings_manifest
    if settings is None:
        return ()
    return (RelatedPlace(settings, ("spec", "gpu", setting), "the environment's GPU policy"),)


CHECKS = (
    canary_weight_out_of_range,
    canary_same_as_model,
    canary_without_spare_capacity,
    canary_does_not_fit,
    canary_name_too_long,
    canary_beside_adapters,
    canary_name_taken,
    canary_gpu_policy,
)

__all__ = ["CHECKS", "canary_endpoint", "canary_gpus"]
