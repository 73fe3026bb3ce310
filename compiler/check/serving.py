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
from compiler.resolve.serving_backend import is_llm_inference_service
from compiler.spec.serving import ServingEndpointSpec
from compiler.spec.training import TrainingJobSpec

E = Severity.ERROR
# What says whether it uses GPUs: an endpoint or a training job.
Workload = Manifest[ServingEndpointSpec] | Manifest[TrainingJobSpec]


def workloads(env: ResolvedEnvironment) -> list[Workload]:
    """The endpoints, then the training jobs, each in file order."""
    return [*env.of_kind("ServingEndpoint"), *env.of_kind("TrainingJob")]


def gpu_settings(manifest: Workload) -> list[tuple[Path, bool]]:
    """Every field of an endpoint or job that says whether it uses GPUs, as (path, uses_gpu)."""
    spec = manifest.spec
    found: list[tuple[Path, bool]] = [(("spec", "useGpu"), spec.use_gpu)]
    inner, name = (
        (spec.deployment_spec, "deploymentSpec")
        if isinstance(spec, ServingEndpointSpec)
        else (spec.train_job_spec, "trainJobSpec")
    )
    if inner is not None:
        if inner.use_gpu is not None:
            found.append((("spec", name, "use_gpu"), inner.use_gpu))
        if "gpus" in inner.resources.model_fields_set:
            found.append((("spec", name, "resources", "gpus"), inner.resources.gpus > 0))
    return found


def gpu_count(manifest: Workload) -> int:
    spec = manifest.spec
    inner = spec.deployment_spec if isinstance(spec, ServingEndpointSpec) else spec.train_job_spec
    return inner.resources.gpus if inner is not None else 0


def _top_level_written(manifest: Workload) -> bool:
    return "use_gpu" in manifest.spec.model_fields_set


def _describe(manifest: Workload, path: Path, uses: bool) -> str:
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
    """What it checks:
        The original platform's endpoint and job bodies say three times whether a workload uses
        GPUs: the top-level `useGpu`, the inner spec's `use_gpu`, and `resources.gpus` (0 or more).
        All three must say the same.
    Why it matters:
        The renderer must decide whether to request a GPU, select GPU nodes and start vLLM or the
        CPU server. With the flags disagreeing any choice contradicts a field a reviewer may trust:
        a guessed GPU costs money; a guessed CPU serves at seconds per token.
    Wrong: both flags say GPU, the count says none
        # file: environments/stg/serving/example-model.yaml
          useGpu: true
          deploymentSpec:
            model_ref: example-base-model@1.0
            model_family: llama
            resources:
              gpus: 0
              gpu_memory_gb: 80
            use_gpu: true
    Right: all three say one GPU per replica
        # file: environments/stg/serving/example-model.yaml
          useGpu: true
          deploymentSpec:
            model_ref: example-base-model@1.0
            model_family: llama
            resources:
              gpus: 1
              gpu_memory_gb: 80
            use_gpu: true
    """
    for manifest in workloads(env):
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
    "minReplicas is greater than maxReplicas, maxReplicas is 0, or minReplicas is 0 where KServe "
    "keeps one.",
    category=Category.SERVING,
)
def replica_bounds_invalid(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        An endpoint's replica bounds make a range: `minReplicas` is at most `maxReplicas`, and
        `maxReplicas` is at least 1. An endpoint served as an InferenceService keeps at least one
        replica: `minReplicas: 0` is refused there (an LLMInferenceService is held to the same by
        E011).
    Why it matters:
        The autoscaler needs a valid range to work in; with min above max, Kubernetes refuses the
        autoscaler (or KServe picks one bound silently), and `maxReplicas: 0` serves nothing. It
        usually happens when one bound is raised and the other forgotten. llmops renders KServe's
        raw Deployment mode, whose autoscaler never goes below one replica: KServe raises a
        `minReplicas` of 0 to 1 (scaling to zero is its Serverless mode's), so the endpoint would
        run, and hold its GPUs, while the proxy, `llmops diff` and the GPU policy count none.
    Wrong: minReplicas raised to 3, maxReplicas left at 2
        # file: environments/dev/serving/example-model.yaml
          minReplicas: 3
          maxReplicas: 2
    Right: a range from 3 to 5
        # file: environments/dev/serving/example-model.yaml
          minReplicas: 3
          maxReplicas: 5
    """
    for endpoint in env.of_kind("ServingEndpoint"):
        low, high = endpoint.spec.min_replicas, endpoint.spec.max_replicas
        if high < 1:
            yield Finding(
                endpoint,
                ("spec", "maxReplicas"),
                "maxReplicas is 0, so the endpoint can never serve",
                "set maxReplicas to 1 or more",
            )
        elif low == 0 and not is_llm_inference_service(env, endpoint):
            yield Finding(
                endpoint,
                ("spec", "minReplicas"),
                "minReplicas is 0, but an InferenceService in KServe's raw Deployment mode keeps "
                "at least one replica (KServe raises 0 to 1)",
                "set minReplicas: 1 (KServe scales to zero only in its Serverless mode, which "
                "llmops does not render)",
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
    """What it checks:
        An endpoint's `autoscalePolicy.cpuUtilization`, the average CPU use at which the autoscaler
        adds a replica, is a percentage between 1 and 100.
    Why it matters:
        The target is a percentage of the CPU each replica requests. Above 100 it is never reached,
        so the endpoint never scales out however loaded it is; 0 would scale out forever. A target
        such as 700 is almost always a typo for 70.
    Wrong: 700, a typo for 70
        # file: environments/dev/serving/example-model.yaml
          autoscalePolicy:
            cpuUtilization: 700
    Right:
        # file: environments/dev/serving/example-model.yaml
          autoscalePolicy:
            cpuUtilization: 70
    """
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
    """What it checks:
        When the model's context length is known (`metadata.context_length`, or its `preset`'s), an
        endpoint's `max_input_tokens` plus `max_output_tokens` fit in it. A warning when the context
        comes from a preset llmops inferred from `model_family` and `parameters`.
    Why it matters:
        llmops renders `--max_model_len` as their sum, and vLLM refuses to start with a maximum
        model length above the model's context: the pod would crash-loop after pulling its image and
        loading its weights. A capacity rule: `llmops explain` counts it as "will not start".
    Wrong: the whole context for input, nothing left for output
        # file: environments/dev/serving/example-model.yaml
            runtime:
              max_concurrent_requests: 64
              max_input_tokens: 8192
              max_output_tokens: 1024
        # file: environments/dev/catalog/example-base-model.yaml
            context_length: 8192
    Right: 7168 input and 1024 output tokens fit in 8192
        # file: environments/dev/serving/example-model.yaml
            runtime:
              max_concurrent_requests: 64
              max_input_tokens: 7168
              max_output_tokens: 1024
    """
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
