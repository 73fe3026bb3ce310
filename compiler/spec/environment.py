"""Environment: per-environment settings and policy (`environments/<env>/environment.yaml`)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, JsonValue, field_validator, model_validator
from pydantic_core import PydanticCustomError

from compiler.capacity.gpus import GPU_PRODUCTS_MIB
from compiler.diagnostics import Category
from compiler.spec.base import Envelope, StrictModel, empty_list
from compiler.spec.formats import (
    DnsLabel,
    DnsSubdomain,
    ExtendedResourceName,
    GitRevision,
    HttpUrl,
    ImageReference,
    IngressHost,
    LabelValue,
    QualifiedName,
    RepositoryPath,
    RepositoryUrl,
    RoleName,
    StorageUri,
    UserId,
)
from compiler.spec.llm_inference_service import (
    DEFAULT_SERVING_BACKEND,
    LLMInferenceServiceSettings,
    ServingBackend,
)
from compiler.spelling import closest_name
from compiler.target.training_contract import DEFAULT_OUTPUT_BASE

DEFAULT_APPROVER_ROLE = "admin"
DEFAULT_IMAGE_TAG = "0.1.0"  # the llmops release whose proxy and trainer images are used by default
# Where the project's images are published (README: Training): `llmops` (the CLI and proxy) and
# `trainer`, the Dockerfile's targets; proxy.image and training.image default to them.
DEFAULT_IMAGE_REGISTRY = "ghcr.io/llmops"
IMAGE_REGISTRY_PATTERN = (
    r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$"
)
DEFAULT_REQUIRED_ROLE = (
    "llm-ops-user"  # the original platform's governance middleware requires it on every call
)
MAX_GPUS_PER_REPLICA = 64  # GPUs of one pod sit in one node; no node has more
MAX_GPU_MEMORY_GIB = 1024  # the largest GPUs have a few hundred GiB
MAX_REPLICAS = 1000


class IngressSettings(StrictModel):
    host: IngressHost | None = Field(
        None, description="Host name, e.g. `dev.llm-ops.local`; default `<env>.llm-ops.local`."
    )
    class_name: DnsSubdomain = Field("nginx", alias="className", description="IngressClass name.")
    tls_secret_name: DnsSubdomain | None = Field(
        None, alias="tlsSecretName", description="Serve TLS with this Secret."
    )


class Toleration(StrictModel):
    key: QualifiedName | None = Field(
        None,
        description="Taint key, e.g. `nvidia.com/gpu`; without a key the "
        "toleration (operator `Exists`) matches every taint.",
    )
    operator: Literal["Exists", "Equal"] = Field(
        "Exists", description="`Exists`, or `Equal` with a value."
    )
    value: LabelValue | None = Field(None, description="Taint value (only with `Equal`).")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        None, description="Taint effect; empty matches all."
    )

    @model_validator(mode="after")
    def _as_kubernetes_accepts(self) -> Toleration:
        """The API server's own rules for a toleration's fields together."""
        if self.operator == "Exists" and self.value:
            raise PydanticCustomError(
                "toleration",
                "a toleration with operator `Exists` matches any value; "
                "remove the value or use operator `Equal`",
                {"entry": "value"},
            )
        if not self.key and self.operator != "Exists":
            raise PydanticCustomError(
                "toleration",
                "a toleration without a key must use operator `Exists`",
                {"entry": "operator"},
            )
        return self


class GpuPolicy(StrictModel):
    allowed: bool = Field(True, description="Whether endpoints and jobs may request GPUs.")
    required: bool = Field(False, description="Whether every endpoint must run on GPUs.")
    max_per_endpoint: int = Field(
        8,
        alias="maxPerEndpoint",
        ge=0,
        le=MAX_GPUS_PER_REPLICA,
        description="GPUs one replica may request.",
    )
    node_selector: dict[str, str] = Field(
        default_factory=dict, alias="nodeSelector", description="Node labels that select GPU nodes."
    )
    resource_name: ExtendedResourceName = Field(
        "nvidia.com/gpu", alias="resourceName", description="Extended resource name."
    )
    tolerations: list[Toleration] = Field(
        default_factory=empty_list,
        description="Tolerations for tainted GPU nodes, "
        "added to GPU pods (endpoints and training).",
    )
    spare_gpus: int = Field(
        0,
        alias="spareGpus",
        ge=0,
        le=100_000,
        description=(
            "GPUs kept free for rolling updates. With fewer spare GPUs than one replica needs, "
            "GPU endpoints roll without surge (one replica down at a time) instead of waiting "
            "forever for a GPU."
        ),
    )
    memory_gib: int | float | None = Field(
        None,
        alias="memoryGiB",
        ge=1,
        le=MAX_GPU_MEMORY_GIB,
        description=(
            "Memory of one GPU in GiB, as the driver reports it (nvidia-smi's total / 1024). "
            "Capacity checks use it; it wins over `product` and over an endpoint's gpu_memory_gb."
        ),
    )
    product: str | None = Field(
        None,
        json_schema_extra={"enum": [*GPU_PRODUCTS_MIB, None]},
        description=(
            "The GPU model, for its memory when memoryGiB is not given: "
            + ", ".join(f"{name} ({mib / 1024:.1f} GiB)" for name, mib in GPU_PRODUCTS_MIB.items())
            + "."
        ),
    )

    @field_validator("product")
    @classmethod
    def _known_product(cls, value: str | None) -> str | None:
        if value is not None and value not in GPU_PRODUCTS_MIB:
            suggestion = closest_name(value, GPU_PRODUCTS_MIB)
            raise ValueError(
                f"unknown GPU product `{value}`"
                + (
                    f"; did you mean `{suggestion}`?"
                    if suggestion
                    else "; write gpu.memoryGiB instead"
                )
            )
        return value


class ApprovalPolicy(StrictModel):
    roles: list[RoleName] = Field(
        default_factory=lambda: [DEFAULT_APPROVER_ROLE],
        description="Roles allowed to approve models.",
    )
    min_approvers: int = Field(
        1, alias="minApprovers", ge=1, le=100, description="Distinct approvers a model needs."
    )
    identities: dict[UserId, list[str]] = Field(
        default_factory=dict,
        description=(
            "Approver user id -> the git author e-mails that are that person, for `llmops "
            "validate --audit`. Without an entry, an author matches a user id by e-mail local "
            "part or name."
        ),
    )
    signed_commits: bool = Field(
        False,
        alias="signedCommits",
        description="With `--audit`: the commit that "
        "last changed an Approval must carry a signature.",
    )


class PromotionPolicy(StrictModel):
    requires: str | None = Field(
        None,
        description="Another environment, e.g. `stg`: every model version served "
        "here must be served there too, with the same digest, at the same revision.",
    )


class ReplicaPolicy(StrictModel):
    min: int = Field(
        0, ge=0, le=MAX_REPLICAS, description="Every endpoint's minReplicas must be at least this."
    )


class KServeSettings(StrictModel):
    version: str = Field(
        "0.15",
        description="KServe minor version the cluster runs, e.g. `0.15` (quoted). "
        "InferenceServices are rendered for Standard (raw Deployment) mode, whose annotation value "
        "is `RawDeployment` before 0.16 and `Standard` from 0.16 on.",
    )
    backend: ServingBackend = Field(
        DEFAULT_SERVING_BACKEND,
        description=(
            "How endpoints are served: `inferenceservice` (v1beta1 InferenceService) or "
            "`llminferenceservice` (LLMInferenceService, KServe 0.16+: `v1alpha1`, `v1alpha2` "
            "from 0.17). An endpoint's own `backend` wins."
        ),
    )
    llm_inference_service: LLMInferenceServiceSettings = Field(
        default_factory=LLMInferenceServiceSettings,
        alias="llmInferenceService",
        description="Router, autoscaler and image of LLMInferenceServices.",
    )


class ArgoCDSettings(StrictModel):
    namespace: DnsLabel = Field("argocd", description="Namespace Argo CD runs in.")
    project: DnsSubdomain = Field(
        "llmops",
        description="AppProject name (not `default`: llmops renders the project, and would "
        "replace Argo CD's own).",
        json_schema_extra={"not": {"const": "default"}},
    )
    server: HttpUrl = Field(
        "https://kubernetes.default.svc", description="Destination cluster API server."
    )
    repo_url: RepositoryUrl | None = Field(
        None,
        alias="repoURL",
        description="Git repository Argo CD reads; without it no Argo CD objects are rendered.",
    )
    path: RepositoryPath = Field(".", description="Path of the estate inside the repository.")
    target_revision: GitRevision = Field(
        "HEAD", alias="targetRevision", description="Branch, tag or commit to deploy."
    )

    @field_validator("project")
    @classmethod
    def _own_project(cls, value: str) -> str:
        """The render writes the AppProject whole (its repositories, namespaces and kinds): under
        the name `default`, applying it would narrow Argo CD's built-in project, which every other
        Application in the cluster without a project of its own uses."""
        if value == "default":
            raise ValueError(
                "`default` is Argo CD's built-in AppProject: llmops renders the project it names, "
                "and this one would replace it, limiting every other Application that uses it to "
                "this estate; name a project of llmops's own, such as `llmops`"
            )
        return value


class ProxySettings(StrictModel):
    image: ImageReference = Field(
        f"ghcr.io/llmops/llmops:{DEFAULT_IMAGE_TAG}", description="Image running `llmops proxy`."
    )
    replicas: int = Field(2, ge=1, le=100, description="Proxy replicas.")
    workers: int = Field(
        1,
        ge=1,
        le=32,
        description=(
            "Worker processes in each proxy pod, sharing its port (`llmops proxy --workers`), one "
            "core each; the pod requests 250m CPU and 256Mi per worker (limits 1 CPU and 512Mi "
            "per worker). Concurrency limits, connection caps and experiment statistics are per "
            "worker; /metrics adds the workers up."
        ),
    )
    token_secret_name: DnsSubdomain | None = Field(
        None,
        alias="tokenSecretName",
        description=(
            "Secret whose `token` key callers must send as a bearer token with their X-User "
            "headers."
        ),
    )
    required_role: RoleName | None = Field(
        DEFAULT_REQUIRED_ROLE,
        alias="requiredRole",
        description=(
            "The role every caller must hold in X-User-Roles (the original platform's workflow "
            "guide requires `llm-ops-user`); `null` turns the requirement off, X-User-Id and "
            "X-User-Roles stay required. Printable ASCII without spaces or commas, at most 128 "
            "characters."
        ),
    )


class TrainingSettings(StrictModel):
    backend: Literal["job", "trainjob"] = Field(
        "job",
        description="Render training jobs as batch/v1 Jobs, or as Kubeflow Trainer TrainJobs.",
    )
    image: ImageReference = Field(
        f"ghcr.io/llmops/trainer:{DEFAULT_IMAGE_TAG}", description="Default trainer image."
    )
    runtime: DnsSubdomain = Field(
        "torch-distributed", description="ClusterTrainingRuntime of TrainJobs."
    )
    output_uri: StorageUri = Field(
        DEFAULT_OUTPUT_BASE,
        alias="outputUri",
        description="Where a training job without output.storageUri writes: this URI plus "
        "the job's name, e.g. `s3://models/trained/customer-support-sft/`.",
    )


# Policy no manifest may weaken unless the environment says otherwise: whether a model may be
# served, the order environments serve it in, and who committed its approvals.
DEFAULT_LOCKED_CATEGORIES = (Category.APPROVAL, Category.PROMOTION, Category.AUDIT)
# Locked in every environment: weakening one would let llmops silently ignore what a manifest says
# (a file it could not read, a field it does not know, a reference to nothing, a misplaced
# manifest) or the rule settings and suppressions themselves.
ALWAYS_LOCKED_CATEGORIES = (
    Category.SYNTAX,
    Category.SCHEMA,
    Category.REFERENCE,
    Category.PLACEMENT,
    Category.SUPPRESSION,
    Category.CONFIGURATION,
)
_CATEGORY_NAMES: list[JsonValue] = [category.value for category in Category]


class RuleSettings(StrictModel):
    """How the environment reports rules: applied to what the checks found, never to the checks."""

    severity: dict[str, Literal["error", "warning", "info"]] = Field(
        default_factory=dict,
        description=(
            "Rule code (`C004`) or category (`capacity`) -> the severity to report it with here: "
            "`error`, `warning` or `info`. A code wins over its category. A locked rule may be "
            "raised, never lowered."
        ),
        json_schema_extra={
            "propertyNames": {"anyOf": [{"pattern": "^[A-Z][0-9]{3}$"}, {"enum": _CATEGORY_NAMES}]}
        },
    )
    disabled: list[str] = Field(
        default_factory=empty_list,
        description=(
            "Rule codes or categories not reported here at all (their checks still run). A locked "
            "rule cannot be disabled."
        ),
        json_schema_extra={
            "items": {"anyOf": [{"pattern": "^[A-Z][0-9]{3}$"}, {"enum": _CATEGORY_NAMES}]}
        },
    )
    locked: list[str] = Field(
        default_factory=lambda: [category.value for category in DEFAULT_LOCKED_CATEGORIES],
        description=(
            "Categories no setting may lower or disable and no `# llmops: ignore[...]` comment may "
            "suppress here. The categories "
            + ", ".join(category.value for category in ALWAYS_LOCKED_CATEGORIES)
            + " are locked everywhere, whatever this says."
        ),
        json_schema_extra={"items": {"enum": _CATEGORY_NAMES}},
    )

    @model_validator(mode="after")
    def _each_rule_once(self) -> RuleSettings:
        both = sorted(set(self.severity) & set(self.disabled))
        if both:
            raise ValueError(
                f"a rule is either disabled or given a severity, not both: {', '.join(both)}"
            )
        return self


class EnvironmentSpec(StrictModel):
    namespace: str | None = Field(
        None, description="Kubernetes namespace; default `llm-ops-<env>`."
    )
    service_account_name: DnsSubdomain | None = Field(
        None,
        alias="serviceAccountName",
        description="ServiceAccount of "
        "model servers and training pods, carrying the storage credentials "
        "for `storageUri` (e.g. S3 keys, or a cloud workload identity).",
    )
    ingress: IngressSettings = Field(
        default_factory=IngressSettings, description="How endpoints are exposed."
    )
    pod_security: Literal["baseline", "privileged"] = Field(
        "baseline",
        alias="podSecurity",
        description="Pod Security level the environment's Namespace enforces. `baseline` refuses "
        "privileged pods, host access and added capabilities; `privileged` admits them, which "
        "KServe's multi-node LLMInferenceService presets need (IPC_LOCK, SYS_RAWIO, NET_RAW for "
        "RDMA).",
    )
    gpu: GpuPolicy = Field(default_factory=GpuPolicy, description="GPU policy.")
    approval: ApprovalPolicy = Field(
        default_factory=ApprovalPolicy, description="Who approves models, and how many."
    )
    replicas: ReplicaPolicy = Field(
        default_factory=ReplicaPolicy, description="Availability policy."
    )
    kserve: KServeSettings = Field(
        default_factory=KServeSettings, description="The KServe the cluster runs."
    )
    argocd: ArgoCDSettings = Field(
        default_factory=ArgoCDSettings, description="How Argo CD deploys the environment."
    )
    proxy: ProxySettings = Field(
        default_factory=ProxySettings, description="The llmops proxy serving the routes."
    )
    training: TrainingSettings = Field(
        default_factory=TrainingSettings, description="How training jobs run."
    )
    promotion: PromotionPolicy = Field(
        default_factory=PromotionPolicy, description="The order models move through environments."
    )
    image_registry: str | None = Field(
        None,
        alias="imageRegistry",
        pattern=IMAGE_REGISTRY_PATTERN,
        description=(
            "Registry and path llmops's own images are pulled from instead of "
            f"`{DEFAULT_IMAGE_REGISTRY}`, e.g. a mirror `registry.example.com/llmops`: the "
            "default proxy and trainer images become `<imageRegistry>/llmops` and "
            "`<imageRegistry>/trainer` with the same tag. An image written in proxy.image or "
            "training.image wins."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _images_from_registry(cls, data: Any) -> Any:
        """The registry changes defaults only: an image the manifest writes is used as written.
        Anything malformed is left to the fields' own validation, which reports it where it is."""
        if not isinstance(data, dict) or not isinstance(data.get("imageRegistry"), str):
            return data
        if re.fullmatch(IMAGE_REGISTRY_PATTERN, data["imageRegistry"]) is None:
            return data
        data = dict(data)
        for section, image in (("proxy", "llmops"), ("training", "trainer")):
            settings = data.get(section, {})
            if isinstance(settings, dict) and "image" not in settings:
                data[section] = {
                    **settings,
                    "image": f"{data['imageRegistry']}/{image}:{DEFAULT_IMAGE_TAG}",
                }
        return data

    rules: RuleSettings = Field(
        default_factory=RuleSettings,
        description="Rule severities, disabled rules and locked categories in this environment.",
    )


class EnvironmentManifest(Envelope):
    kind: Literal["Environment"]
    spec: EnvironmentSpec = Field(default_factory=EnvironmentSpec)
