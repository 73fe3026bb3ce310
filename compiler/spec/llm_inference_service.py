"""Settings of the LLMInferenceService serving backend (KServe 0.16+): which backend an endpoint
is rendered as, the environment's router and autoscaler for it, and an endpoint's parallelism."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from compiler.spec.base import StrictModel, empty_list
from compiler.spec.formats import DnsLabel, DnsSubdomain, HttpUrl, ImageReference

ServingBackend = Literal["inferenceservice", "llminferenceservice"]
DEFAULT_SERVING_BACKEND: ServingBackend = "inferenceservice"
# The Service Istio creates for KServe's default Gateway `kserve/kserve-ingress-gateway`.
DEFAULT_GATEWAY_URL = "http://kserve-ingress-gateway-istio.kserve.svc.cluster.local"
MAX_DATA_PARALLEL = 64
MAX_NODES = 64  # nodes one replica spans (a LeaderWorkerSet group)


class GatewayRef(StrictModel):
    name: DnsSubdomain = Field(description="Gateway API Gateway name.")
    namespace: DnsLabel = Field(description="The Gateway's namespace.")


class LLMInferenceServiceSettings(StrictModel):
    """How LLMInferenceServices are wired in this environment; every field has a default that lets
    KServe create its own router."""

    gateway_refs: list[GatewayRef] = Field(
        default_factory=empty_list,
        alias="gatewayRefs",
        max_length=16,
        description=(
            "Gateways the route attaches to; empty renders `router.gateway: {}`, KServe's "
            "configured ingress Gateway."
        ),
    )
    gateway_url: HttpUrl = Field(
        DEFAULT_GATEWAY_URL,
        alias="gatewayUrl",
        description=(
            "In-cluster URL of that Gateway, which the proxy sends requests to: KServe routes "
            "`/<namespace>/<name>/v1/...` of it to the endpoint's scheduler. The default is the "
            "Service Istio creates for KServe's default Gateway `kserve/kserve-ingress-gateway`."
        ),
    )

    @model_validator(mode="after")
    def _proxy_reaches_the_gateways(self) -> LLMInferenceServiceSettings:
        """Gateways of one's own with the default gatewayUrl: the route attaches to those, the
        proxy sends to KServe's default Gateway, which has no route to the endpoint (404)."""
        if self.gateway_refs and "gateway_url" not in self.model_fields_set:
            first = self.gateway_refs[0]
            raise PydanticCustomError(
                "gateway_url",
                "gatewayRefs names a Gateway of its own ({gateway}), but gatewayUrl is left at "
                "KServe's default Gateway's Service: the proxy would send every request to a "
                "Gateway the endpoints' routes do not attach to (404); set gatewayUrl to the "
                "in-cluster URL of {gateway}'s Service",
                {"gateway": f"{first.namespace}/{first.name}", "entry": "gatewayRefs"},
            )
        return self

    base_refs: list[DnsSubdomain] = Field(
        default_factory=empty_list,
        alias="baseRefs",
        max_length=16,
        description=(
            "LLMInferenceServiceConfig presets every LLMInferenceService starts from (`baseRefs`), "
            "in order; empty uses KServe's well-known defaults."
        ),
    )
    autoscaler: Literal["hpa", "keda"] = Field(
        "hpa",
        description=(
            "The Workload Variant Autoscaler's actuator for endpoints whose minReplicas and "
            "maxReplicas differ (`scaling.wva.hpa` or `scaling.wva.keda`); a fixed size renders "
            "`replicas`."
        ),
    )
    image: ImageReference | None = Field(
        None,
        description=(
            "vLLM image of the main container instead of the preset's; needed for endpoints "
            "without GPUs (a vLLM CPU build), since KServe's preset image is a CUDA build."
        ),
    )


class Parallelism(StrictModel):
    """How a replica's GPUs are split; tensor parallelism over all of them is the default."""

    data: int = Field(
        1,
        ge=1,
        le=MAX_DATA_PARALLEL,
        description=(
            "Data-parallel ranks on each node of a replica (vLLM `--data-parallel-size-local`); "
            "the node's GPUs are shared out evenly, each rank tensor-parallel over its share."
        ),
    )
    expert: bool = Field(
        False, description="Expert parallelism for mixture-of-experts models (vLLM)."
    )
    nodes: int = Field(
        1,
        ge=1,
        le=MAX_NODES,
        description=(
            "Nodes one replica spans: KServe's multi-node LeaderWorkerSet, a leader pod "
            "(`template`) and `nodes - 1` worker pods (`worker`), each with "
            "deploymentSpec.resources.gpus GPUs. vLLM runs one data-parallel rank per node, "
            "tensor-parallel over the node's GPUs (KServe's multi-node presets are "
            "data-parallel); each rank holds the whole model."
        ),
    )
