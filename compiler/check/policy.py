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
    """An environment with `gpu.allowed: false` (e.g. a CPU-only dev cluster) cannot schedule GPU
    pods; they would stay Pending. Fix: set the workload CPU-only, or allow GPUs in
    environment.yaml."""
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
    """`gpu.maxPerEndpoint` caps the GPUs of one replica or job (default 8, one node). Fix: request
    fewer GPUs or raise the limit."""
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


@rule(
    "P009",
    "gpu-required",
    E,
    "A CPU-only endpoint in an environment that requires GPUs.",
    category=Category.POLICY,
)
def gpu_required(env: ResolvedEnvironment) -> Iterator[Finding]:
    """Production environments can require GPU serving (`gpu.required: true`): a CPU-only LLM
    endpoint there is far too slow to serve users. Fix: give the endpoint GPUs."""
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
    """`replicas.min` sets the availability floor (e.g. 2 in prod, so one pod can fail or roll).
    Fix: raise minReplicas."""
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
    """InferenceServices are rendered for one KServe release's webhook and mode names.
    `kserve.version` must be a minor version (`"0.15"`, `"v0.16.1"`) between 0.13 (the first with
    the Hugging Face server) and the newest release llmops knows (0.20). Fix: write the cluster's
    KServe version, quoted."""
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
