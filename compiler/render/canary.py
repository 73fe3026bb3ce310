"""A ServingEndpoint's canary -> a second InferenceService, `<endpoint>-canary`, and the canary's
entry in the proxy's configuration (which splits the traffic by its weight).

The canary's InferenceService is the endpoint's, rendered for the canary's model, replicas and
resources (compiler/capacity/canary.py), under its own name. It serves under the endpoint's served
model name, so callers see one model whichever variant answers. Labelled `llmops.io/variant:
canary` (and `llmops.io/endpoint` with the endpoint's name) so `llmops status` can pair it.
"""

from __future__ import annotations

from typing import Any

from compiler.capacity.canary import canary_endpoint
from compiler.render import kserve
from compiler.render.context import RenderContext
from compiler.resolve.manifest import Manifest
from compiler.spec.serving import ServingEndpointSpec
from compiler.target import naming
from compiler.target.canary import VARIANT_LABEL, canary_predictor_url, canary_service_name

WEIGHT_ANNOTATION = "llmops.io/canary-weight"


def render_canary(
    ctx: RenderContext, endpoint: Manifest[ServingEndpointSpec]
) -> list[dict[str, Any]]:
    """The canary's InferenceService, or nothing for an endpoint without a canary."""
    canary = canary_endpoint(ctx.env, endpoint)
    if canary is None or endpoint.spec.canary is None:
        return []
    model = ctx.env.resolve_model(endpoint.spec.canary.model).manifest
    assert model is not None, "render needs a validated estate"
    service = kserve.render_inference_service(ctx, canary, model)
    metadata = service["metadata"]
    metadata["name"] = canary_service_name(endpoint.name)
    metadata["labels"][VARIANT_LABEL] = "canary"
    metadata["annotations"][WEIGHT_ANNOTATION] = str(endpoint.spec.canary.weight)
    return [service]


def canary_proxy_entry(
    ctx: RenderContext, endpoint: Manifest[ServingEndpointSpec]
) -> dict[str, Any] | None:
    """The canary's part of the endpoint's entry in proxy.json: its weight, model, backend and
    runtime limits (the proxy applies the limits of the variant a request goes to)."""
    canary = canary_endpoint(ctx.env, endpoint)
    if canary is None or endpoint.spec.canary is None:
        return None
    model = ctx.env.resolve_model(endpoint.spec.canary.model).manifest
    if model is None:
        return None  # R001 reports it; K009 measures this document before the estate is valid
    deployment = canary.spec.deployment_spec
    runtime = deployment.runtime if deployment is not None else None
    return {
        "weight": endpoint.spec.canary.weight,
        "modelId": endpoint.spec.canary.model,
        "model": {"name": model.name, "version": model.version},
        "backend": {
            "url": canary_predictor_url(endpoint.name, ctx.namespace),
            "api": "kserve-openai",
            "openaiPrefix": naming.KSERVE_OPENAI_PREFIX,
            "servedModelName": naming.served_model_name(endpoint.name),
        },
        "limits": None
        if runtime is None
        else {
            "maxConcurrentRequests": runtime.max_concurrent_requests,
            "maxInputTokens": runtime.max_input_tokens,
            "maxOutputTokens": runtime.max_output_tokens,
        },
        "minReplicas": canary.spec.min_replicas,
        "maxReplicas": canary.spec.max_replicas,
    }
