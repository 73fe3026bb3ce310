"""ServingEndpoint: the original platform's `POST /serving/endpoints` body with its
DeploymentSpec."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from compiler.spec.base import Envelope, StrictModel, empty_list
from compiler.spec.environment import MAX_GPU_MEMORY_GIB, MAX_GPUS_PER_REPLICA, MAX_REPLICAS
from compiler.spec.formats import RoleName
from compiler.spec.llm_inference_service import Parallelism, ServingBackend
from compiler.spec.model import MAX_CONTEXT_TOKENS
from compiler.spec.quantities import CpuQuantity, MemoryQuantity

ROUTE_PREFIX = "/llm-ops/v1/serve/"


class AutoscalePolicy(StrictModel):
    # The range is rule E003's (a check with its own code and hint), documented here for the schema.
    cpu_utilization: int = Field(
        alias="cpuUtilization",
        json_schema_extra={"minimum": 1, "maximum": 100},
        description="Target average CPU utilization, percent (1-100).",
    )


class DeploymentResources(StrictModel):
    gpus: int = Field(
        0, ge=0, le=MAX_GPUS_PER_REPLICA, description="GPUs per replica; 0 means CPU-only."
    )
    gpu_memory_gb: int | float | None = Field(
        None,
        ge=1,
        le=MAX_GPU_MEMORY_GIB,
        description=(
            "Memory of one GPU in GiB; the capacity checks use it when the environment names "
            "neither gpu.memoryGiB nor gpu.product."
        ),
    )
    cpu: CpuQuantity | None = Field(
        None, description="CPU per replica (request and limit), 1m to 1024 cores."
    )
    memory: MemoryQuantity | None = Field(
        None,
        description=(
            "Memory per replica, e.g. `16Gi`; 1Mi to 64Ti. Not set: on CPU what the model needs "
            "(weights, one sequence of KV cache and 2.3 GiB runtime overhead; `llmops explain` "
            "shows it), on GPUs 32Gi."
        ),
    )


class RuntimeLimits(StrictModel):
    max_concurrent_requests: int = Field(
        ge=1, le=100_000, description="Requests in flight per endpoint before 429."
    )
    max_input_tokens: int = Field(
        ge=1, le=MAX_CONTEXT_TOKENS, description="Longest accepted prompt, in tokens."
    )
    max_output_tokens: int = Field(
        ge=1, le=MAX_CONTEXT_TOKENS, description="Longest generation, in tokens."
    )


class Prefill(StrictModel):
    """Prefill/decode disaggregation on an LLMInferenceService: prefill replicas of their own
    compute each prompt's KV cache and hand it to the endpoint's replicas, which decode."""

    min_replicas: int = Field(
        1, alias="minReplicas", ge=1, le=MAX_REPLICAS, description="Prefill replicas kept running."
    )
    max_replicas: int = Field(
        1,
        alias="maxReplicas",
        ge=1,
        le=MAX_REPLICAS,
        description="Upper bound for the autoscaler; equal to minReplicas renders a fixed size.",
    )
    gpus: int | None = Field(
        None,
        ge=1,
        le=MAX_GPUS_PER_REPLICA,
        description=(
            "GPUs per prefill replica (per node); default deploymentSpec.resources.gpus. Each "
            "prefill replica holds the whole model on its GPUs."
        ),
    )
    parallelism: Parallelism | None = Field(
        None, description="Data, expert and multi-node parallelism of a prefill replica."
    )


class DeploymentSpec(StrictModel):
    model_ref: str | None = Field(
        None, description="`name@version` or `name-version`; the same model as modelId."
    )
    model_family: str | None = Field(
        None, description="Must agree with the model's metadata.model_family."
    )
    job_type: str | None = Field(None, description="How the served model was trained, e.g. `SFT`.")
    serve_target: Literal["GENERATION", "EMBEDDING"] = Field(
        "GENERATION", description="What the endpoint serves."
    )
    resources: DeploymentResources = Field(
        default_factory=DeploymentResources, description="Per replica."
    )
    runtime: RuntimeLimits | None = Field(
        None, description="Limits the proxy and the runtime enforce."
    )
    use_gpu: bool | None = Field(None, description="Must agree with useGpu and resources.gpus.")


class ServingEndpointSpec(StrictModel):
    name: str | None = Field(None, description="When given, must equal metadata.name.")
    model_id: str = Field(
        alias="modelId",
        description="The served model: `name@version` or `name-version`; it "
        "must be approved for this environment.",
    )
    environment: str | None = Field(
        None, description="When given, must equal the environment folder."
    )
    route: str = Field(
        description="Public path, `/llm-ops/v1/serve/<route-name>`; unique per environment."
    )
    min_replicas: int = Field(
        1, alias="minReplicas", ge=0, le=MAX_REPLICAS, description="Replicas kept running."
    )
    max_replicas: int = Field(
        1, alias="maxReplicas", ge=0, le=MAX_REPLICAS, description="Upper bound for the autoscaler."
    )
    autoscale_policy: AutoscalePolicy | None = Field(
        None, alias="autoscalePolicy", description="When to add replicas."
    )
    use_gpu: bool = Field(False, alias="useGpu", description="Whether replicas run on GPUs.")
    deployment_spec: DeploymentSpec | None = Field(
        None,
        alias="deploymentSpec",
        description="The original platform's DeploymentSpec: how to serve.",
    )
    canary: Canary | None = Field(
        None,
        description="A second model version served beside modelId for a share of the users.",
    )
    adapters: list[str] = Field(
        default_factory=empty_list,
        max_length=64,
        description=(
            "LoRA adapters served beside the base model: Models of type `adapter` (`name@version` "
            "or `name-version`) whose baseModel is this endpoint's modelId. Each is served under "
            "its model name, which a request's OpenAI `model` field selects; each must be approved "
            "like the base."
        ),
    )
    backend: ServingBackend | None = Field(
        None,
        description="`inferenceservice` or `llminferenceservice`; default the environment's "
        "kserve.backend.",
    )
    parallelism: Parallelism | None = Field(
        None,
        description=("Data, expert and multi-node parallelism of an LLMInferenceService replica."),
    )
    prefill: Prefill | None = Field(
        None,
        description=(
            "Prefill/decode disaggregation (LLMInferenceService only): separate prefill replicas; "
            "the endpoint's own replicas decode."
        ),
    )
    allowed_roles: list[RoleName] = Field(
        default_factory=empty_list,
        alias="allowedRoles",
        description="Roles (besides llm-ops-user) allowed to call the endpoint "
        "through the proxy; empty means any llm-ops-user.",
    )


class ServingEndpointManifest(Envelope):
    kind: Literal["ServingEndpoint"]
    spec: ServingEndpointSpec


# The canary builds on DeploymentResources and RuntimeLimits above: imported once they exist.
from compiler.spec.canary import Canary  # noqa: E402

ServingEndpointSpec.model_rebuild()
ServingEndpointManifest.model_rebuild()
