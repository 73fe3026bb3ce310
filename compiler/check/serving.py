"""Serving and training settings (code family E): flags that agree, sane replicas, tokens that
fit."""

from __future__ import annotations

from collections.abc import Iterator

from compiler.capacity.facts import assumptions_of, cached_model_facts
from compiler.capacity.serving import plain
from compiler.check.rule import Finding, RelatedPlace, rule
from compiler.diagnostics import Category, Severity
from compiler.positions import Path
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest

E = Severity.ERROR


def gpu_settings(manifest: Manifest) -> list[tuple[Path, bool]]:
    """Every field of an endpoint or job that says whether it uses GPUs, as (path, uses_gpu)."""
    spec = manifest.spec
    found: list[tuple[Path, bool]] = [(("spec", "useGpu"), spec.use_gpu)]
    inner, name = (
        (spec.deployment_spec, "deploymentSpec")
        if manifest.kind == "ServingEndpoint"
        else (spec.train_job_spec, "trainJobSpec")
    )
    if inner is not None:
        if inner.use_gpu is not None:
            found.append((("spec", name, "use_gpu"), inner.use_gpu))
        if "gpus" in inner.resources.model_fields_set:
            found.append((("spec", name, "resources", "gpus"), inner.resources.gpus > 0))
    return found


def gpu_count(manifest: Manifest) -> int:
    spec = manifest.spec
    inner = spec.deployment_spec if manifest.kind == "ServingEndpoint" else spec.train_job_spec
    return inner.resources.gpus if inner is not None else 0


def _top_level_written(manifest: Manifest) -> bool:
    return "use_gpu" in manifest.spec.model_fields_set


def _describe(manifest: Manifest, path: Path, uses: bool) -> str:
    """What one GPU setting says, as written: `deploymentSpec.resources.gpus is 2`, `useGpu is
    false`."""
    field = ".".join(str(p) for p in path[1:])
    if path[-1] == "gpus":
        return f"{field} is {gpu_count(manifest)}"
    if path == ("spec", "useGpu") and not _top_level_written(manifest):
        return "useGpu is not set (so false)"
    return f"{field} is {str(uses).lower()}"


@rule(
    "E001",
    "gpu-flags-disagree",
    E,
    "`useGpu`, `use_gpu` and `resources.gpus` disagree.",
    category=Category.SERVING,
)
def gpu_flags_disagree(env: ResolvedEnvironment) -> Iterator[Finding]:
    """The seeds' bodies say three times whether a workload uses GPUs: `useGpu`, the inner spec's
    `use_gpu`, and `resources.gpus` (0 for CPU-only). A disagreement means the renderer would have
    to guess. Fix: make all three say the same."""
    for manifest in (*env.of_kind("ServingEndpoint"), *env.of_kind("TrainingJob")):
        settings = gpu_settings(manifest)
        first_path, first = settings[0]
        for path, uses in settings[1:]:
            if uses != first:
                yield Finding(
                    manifest,
                    path,
                    f"{_describe(manifest, path, uses)} but "
                    f"{_describe(manifest, first_path, first)}",
                    "use GPUs everywhere (useGpu: true, use_gpu: true, gpus >= 1) or nowhere "
                    "(false, false, 0)",
                    related=(
                        RelatedPlace(
                            manifest,
                            first_path,
                            "the top-level flag"
                            if _top_level_written(manifest)
                            else "the top-level flag is missing here",
                        ),
                    ),
                )


@rule(
    "E002",
    "replica-bounds-invalid",
    E,
    "minReplicas is greater than maxReplicas, or maxReplicas is 0.",
    category=Category.SERVING,
)
def replica_bounds_invalid(env: ResolvedEnvironment) -> Iterator[Finding]:
    """The autoscaler needs `0 <= minReplicas <= maxReplicas` and `maxReplicas >= 1`. Fix: correct
    the bounds."""
    for endpoint in env.of_kind("ServingEndpoint"):
        low, high = endpoint.spec.min_replicas, endpoint.spec.max_replicas
        if high < 1:
            yield Finding(
                endpoint,
                ("spec", "maxReplicas"),
                "maxReplicas is 0, so the endpoint can never serve",
                "set maxReplicas to 1 or more",
            )
        elif low > high:
            default = "" if "max_replicas" in endpoint.spec.model_fields_set else ", the default"
            yield Finding(
                endpoint,
                ("spec", "minReplicas"),
                f"minReplicas ({low}) is greater than maxReplicas ({high}{default})",
                f"set minReplicas <= {high} or maxReplicas >= {low}",
                related=(RelatedPlace(endpoint, ("spec", "maxReplicas"), "maxReplicas"),),
            )


@rule(
    "E003",
    "autoscale-target-out-of-range",
    E,
    "autoscalePolicy.cpuUtilization is not between 1 and 100.",
    category=Category.SERVING,
)
def autoscale_target_out_of_range(env: ResolvedEnvironment) -> Iterator[Finding]:
    """A CPU utilization target is a percentage of the requested CPU: 0 would scale forever and
    values above 100 can never be reached with limits equal to requests. Fix: choose 1-100 (70 is
    common)."""
    for endpoint in env.of_kind("ServingEndpoint"):
        policy = endpoint.spec.autoscale_policy
        if policy is not None and not 1 <= policy.cpu_utilization <= 100:
            yield Finding(
                endpoint,
                ("spec", "autoscalePolicy", "cpuUtilization"),
                f"cpuUtilization is {policy.cpu_utilization}; it must be between 1 and 100",
                "70 is a common target",
            )


@rule(
    "E004",
    "context-exceeds-model",
    E,
    "max_input_tokens + max_output_tokens exceed the model's context.",
    category=Category.CAPACITY,
)
def context_exceeds_model(env: ResolvedEnvironment) -> Iterator[Finding]:
    """When the model's context is known (`metadata.context_length`, or its `preset`'s), one
    request's input plus output must fit in it; the runtime refuses to start with a longer
    `--max-model-len`. A warning when the context comes from a preset llmops inferred from
    `model_family` and `parameters`. Fix: lower the limits or serve a model with a longer
    context."""
    for endpoint in env.of_kind("ServingEndpoint"):
        deployment = endpoint.spec.deployment_spec
        model = env.resolve_model(endpoint.spec.model_id).manifest
        if deployment is None or deployment.runtime is None or model is None:
            continue
        known = cached_model_facts(env, model).context_length
        context = known.value if known is not None else None
        runtime = deployment.runtime
        total = runtime.max_input_tokens + runtime.max_output_tokens
        if known is not None and context is not None and total > context:
            room = context - runtime.max_output_tokens
            hint = (
                f"set max_input_tokens <= {plain(room)}"
                if room >= 1
                else (
                    "max_output_tokens alone fills the context; lower it so that input + output "
                    f"<= {context}"
                )
            )
            yield Finding(
                endpoint,
                ("spec", "deploymentSpec", "runtime", "max_input_tokens"),
                f"max_input_tokens + max_output_tokens = {runtime.max_input_tokens} + "
                f"{runtime.max_output_tokens} = {plain(total)}, more than {model.subject}'s "
                f"context of {context} tokens",
                hint,
                related=(
                    RelatedPlace(
                        model,
                        known.origin.path,
                        "the model's context"
                        + (
                            f" ({known.origin.note})"
                            if known.origin.note.startswith("preset")
                            else ""
                        ),
                    ),
                ),
                assumptions=assumptions_of(known),
            )


CHECKS = (
    gpu_flags_disagree,
    replica_bounds_invalid,
    autoscale_target_out_of_range,
    context_exceeds_model,
)
