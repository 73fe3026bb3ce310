"""Environment policy (code family P, continued): GPUs and replicas the environment allows or
requires."""

from __future__ import annotations

from collections.abc import Iterator

from compiler.check.rule import Finding, RelatedPlace, rule
from compiler.check.serving import gpu_count, workloads
from compiler.diagnostics import Category, Severity
from compiler.resolve.environment import ResolvedEnvironment
from compiler.target.kserve_versions import NEWEST_KSERVE, OLDEST_KSERVE, parse_minor

E = Severity.ERROR


def _gpu_path(kind: str) -> tuple[str, ...]:
    return (
        "spec",
        "deploymentSpec" if kind == "ServingEndpoint" else "trainJobSpec",
        "resources",
        "gpus",
    )


def _policy_place(env: ResolvedEnvironment, *path: str) -> tuple[RelatedPlace, ...]:
    if env.settings_manifest is None:
        return ()
    return (RelatedPlace(env.settings_manifest, ("spec", *path), "the environment's policy"),)


@rule(
    "P007",
    "gpu-not-allowed",
    E,
    "A workload requests GPUs in an environment that allows none.",
    category=Category.POLICY,
)
def gpu_not_allowed(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        In an environment with `gpu.allowed: false`, no endpoint or training job requests GPUs
        (`resources.gpus` above 0).
    Why it matters:
        Such an environment is typically a CPU-only cluster: a pod requesting `nvidia.com/gpu` there
        is never scheduled and stays Pending, with nothing in git saying why. Capacity checks (C
        rules) are not run there either, since the request itself is the problem.
    Wrong: dev has no GPU nodes
        # file: environments/dev/serving/support-chat.yaml
          # Wrong: dev has no GPU nodes, so these pods would stay Pending.
          useGpu: true
          deploymentSpec:
            use_gpu: true
            resources:
              gpus: 1
        # file: environments/dev/environment.yaml
        spec:
          gpu:
            allowed: false
    Right: CPU-only, as dev requires
        # file: environments/dev/serving/support-chat.yaml
          # CPU-only, as dev requires.
          useGpu: false
          deploymentSpec:
            use_gpu: false
            resources:
              gpus: 0
    """
    if env.settings.gpu.allowed:
        return
    for manifest in workloads(env):
        if gpu_count(manifest) > 0:
            yield Finding(
                manifest,
                _gpu_path(manifest.kind),
                f"{gpu_count(manifest)} GPU(s) requested but "
                f"environment `{env.name}` allows no GPUs",
                "set gpus: 0 and useGpu/use_gpu: false",
                related=_policy_place(env, "gpu", "allowed"),
            )


@rule(
    "P008",
    "gpus-over-limit",
    E,
    "A workload requests more GPUs than the environment allows per replica.",
    category=Category.POLICY,
)
def gpus_over_limit(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        No endpoint replica (per node, and per prefill replica) or training job requests more GPUs
        than the environment's `gpu.maxPerEndpoint` (default 8).
    Why it matters:
        The GPUs of one replica must sit in one node; a request larger than the environment's nodes
        hold is never scheduled. The limit is also the environment owner's budget: one endpoint
        should not take a whole node without a policy change.
    Wrong: four GPUs per replica where nodes have two
        # file: environments/stg/serving/support-chat.yaml
            resources:
              # Wrong: four GPUs per replica, but stg allows at most two.
              gpus: 4
        # file: environments/stg/environment.yaml
          gpu:
            maxPerEndpoint: 2
    Right: within the limit
        # file: environments/stg/serving/support-chat.yaml
            resources:
              # Within stg's limit of two.
              gpus: 2
    """
    limit = env.settings.gpu.max_per_endpoint
    if not env.settings.gpu.allowed:
        return
    for manifest in workloads(env):
        count = gpu_count(manifest)
        if count > limit:
            yield Finding(
                manifest,
                _gpu_path(manifest.kind),
                f"{count} GPUs requested; environment `{env.name}` allows at most {limit}",
                f"set gpus <= {limit}",
                related=_policy_place(env, "gpu", "maxPerEndpoint"),
            )
    for endpoint in env.of_kind("ServingEndpoint"):
        prefill = endpoint.spec.prefill
        if prefill is not None and prefill.gpus is not None and prefill.gpus > limit:
            yield Finding(
                endpoint,
                ("spec", "prefill", "gpus"),
                f"{prefill.gpus} GPUs requested per prefill replica; environment `{env.name}` "
                f"allows at most {limit}",
                f"set prefill.gpus <= {limit}",
                related=_policy_place(env, "gpu", "maxPerEndpoint"),
            )


@rule(
    "P009",
    "gpu-required",
    E,
    "A CPU-only endpoint in an environment that requires GPUs.",
    category=Category.POLICY,
)
def gpu_required(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        In an environment with `gpu.required: true`, every endpoint runs on GPUs (`useGpu`,
        `use_gpu` and at least one GPU).
    Why it matters:
        A CPU-only LLM endpoint generates at seconds per token: fine for a test, unusable for users.
        Production environments say so once, and an endpoint copied from a CPU-only dev environment
        cannot slip through.
    Wrong: a CPU-only endpoint in prod
        # file: environments/prod/serving/support-chat.yaml
          # Wrong: CPU-only, but prod requires GPU serving.
          useGpu: false
          deploymentSpec:
            use_gpu: false
            resources:
              gpus: 0
        # file: environments/prod/environment.yaml
          gpu:
            required: true
    Right: one GPU per replica
        # file: environments/prod/serving/support-chat.yaml
          # One GPU per replica.
          useGpu: true
          deploymentSpec:
            use_gpu: true
            resources:
              gpus: 1
    """
    if not env.settings.gpu.required:
        return
    for endpoint in env.of_kind("ServingEndpoint"):
        if gpu_count(endpoint) == 0:
            path = _gpu_path(endpoint.kind) if endpoint.spec.deployment_spec else ("spec", "useGpu")
            yield Finding(
                endpoint,
                path,
                f"environment `{env.name}` requires GPU serving but this endpoint is CPU-only",
                "set useGpu: true, use_gpu: true and gpus >= 1",
                related=_policy_place(env, "gpu", "required"),
            )


@rule(
    "P010",
    "replicas-below-policy",
    E,
    "minReplicas is below the environment's minimum.",
    category=Category.POLICY,
)
def replicas_below_policy(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Every endpoint's `minReplicas` is at least the environment's `replicas.min` (default 0).
    Why it matters:
        The floor is the environment's availability policy: with two replicas one can fail, be
        evicted or roll to a new version while the other serves. One replica in production means
        every restart is an outage.
    Wrong: one replica in prod
        # file: environments/prod/serving/support-chat.yaml
          # Wrong: one replica; prod requires at least two.
          minReplicas: 1
        # file: environments/prod/environment.yaml
          replicas:
            min: 2
    Right:
        # file: environments/prod/serving/support-chat.yaml
          # Two replicas at least, as prod requires.
          minReplicas: 2
    """
    floor = env.settings.replicas.min
    for endpoint in env.of_kind("ServingEndpoint"):
        if endpoint.spec.min_replicas < floor:
            yield Finding(
                endpoint,
                ("spec", "minReplicas"),
                f"minReplicas is {endpoint.spec.min_replicas}; "
                f"environment `{env.name}` requires at least {floor}",
                f"set minReplicas: {floor}",
                related=_policy_place(env, "replicas", "min"),
            )


@rule(
    "P011",
    "unsupported-kserve-version",
    E,
    "The environment names a KServe version llmops cannot render for.",
    category=Category.POLICY,
)
def unsupported_kserve_version(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        The environment's `kserve.version` is a KServe minor version (`"0.15"`, `"v0.16.1"`) from
        0.13, the first with the Hugging Face model server, to the newest llmops knows (0.20).
    Why it matters:
        InferenceServices are rendered for one KServe release: its deployment-mode annotation
        (`RawDeployment` before 0.16, `Standard` from 0.16) and the fields its webhook adds, so Argo
        CD sees no drift. For a version outside the range llmops cannot know what to render, and a
        wrong guess fails at sync time.
    Wrong: KServe 0.9
        # file: environments/prod/environment.yaml
          kserve:
            version: "0.9"
    Right: the cluster's minor version, quoted
        # file: environments/prod/environment.yaml
          kserve:
            version: "0.16"
    """
    settings = env.settings_manifest
    if settings is None:
        return
    version = env.settings.kserve.version
    minor = parse_minor(version)
    if minor is None or not OLDEST_KSERVE <= minor <= NEWEST_KSERVE:
        yield Finding(
            settings,
            ("spec", "kserve", "version"),
            f'KServe version "{version}" is not one llmops renders for',
            f"use a version from {OLDEST_KSERVE[0]}.{OLDEST_KSERVE[1]} to "
            f'{NEWEST_KSERVE[0]}.{NEWEST_KSERVE[1]}, quoted, e.g. "0.16"',
        )


CHECKS = (
    gpu_not_allowed,
    gpus_over_limit,
    gpu_required,
    replicas_below_policy,
    unsupported_kserve_version,
)
