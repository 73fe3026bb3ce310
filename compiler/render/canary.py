"""A ServingEndpoint's canary -> a second InferenceService (or LLMInferenceService),
`<endpoint>-canary`, and the canary's entry in the proxy's configuration (which splits the traffic
by its weight, sticky per user).

On the LLMInferenceService backend both objects also join one KServe route group with their
weights, so callers that reach KServe's Gateway without the proxy see the same split (per
request, not per user). The canary's object is the endpoint's, rendered for the canary's model,
replicas and resources (compiler/capacity/canary.py), under its own name. It serves under the
endpoint's served model name, so callers see one model whichever variant answers. Labelled
`llmops.io/variant: canary` (and `llmops.io/endpoint` with the endpoint's name) so `llmops status`
can pair it.
"""

from __future__ import annotations

from typing import Any

from compiler.capacity.canary import canary_endpoint
from compiler.render.context import RenderContext
from compiler.resolve.manifest import Manifest
from compiler.resolve.serving_backend import is_llm_inference_service
from compiler.spec.serving import ServingEndpointSpec
from compiler.target import naming
from compiler.target.canary import VARIANT_LABEL, canary_predictor_url, canary_service_name

WEIGHT_ANNOTATION = "llmops.io/canary-weight"


def render_canary(
    ctx: RenderContext, endpoint: Manifest[ServingEndpointSpec]
) -> list[dict[str, Any]]:
    """The canary's InferenceService (or LLMInferenceService, a member of the endpoint's route
    group with the canary's weight), or nothing for an endpoint without a canary."""
    canary = canary_endpoint(ctx.env, endpoint)
    if canary is None or endpoint.spec.canary is None:
        return []
    model = ctx.env.resolve_model(endpoint.spec.canary.model).manifest
    assert model is not None, "render needs a validated estate"
    # imported here, as in `_canary_backend`: `validate` reads this module for the proxy's entry
    from compiler.render import kserve
    from compiler.render import llm_inference_service as llmisvc

    if is_llm_inference_service(ctx.env, endpoint):
        route = llmisvc.route_group(endpoint, endpoint.spec.canary.weight)
        service = llmisvc.render_llm_inference_service(ctx, canary, model, route)
    else:
        service = kserve.render_inference_service(ctx, canary, model)
    # a new object under the canary's name: the template's own is not changed (its emitted text
    # is known by how it was made: compiler/render/remembered.py)
    metadata = service["metadata"]
    renamed = {
        **metadata,
        "name": canary_service_name(endpoint.name),
        "labels": {**metadata["labels"], VARIANT_LABEL: "canary"},
        "annotations": {
            **metadata["annotations"],
            WEIGHT_ANNOTATION: str(endpoint.spec.canary.weight),
        },
    }
    return [{**service, "metadata": renamed}]


def _canary_backend(ctx: RenderContext, endpoint: Manifest[ServingEndpointSpec]) -> dict[str, str]:
    """Where the proxy sends the canary's share: its predictor, or for an LLMInferenceService its
    own path on KServe's Gateway (which bypasses the group's weighted rule, so the proxy's
    sticky split is the one its callers get)."""
    if is_llm_inference_service(ctx.env, endpoint):
        # imported here: `validate` measures the proxy's configuration (K009) for every estate,
        # and the LLMInferenceService renderer is needed only by the estates that use that backend
        from compiler.render.llm_inference_service import proxy_backend

        return proxy_backend(ctx, endpoint, canary_service_name(endpoint.name))
    return {
        "url": canary_predictor_url(endpoint.name, ctx.namespace),
        "api": "kserve-openai",
        "openaiPrefix": naming.KSERVE_OPENAI_PREFIX,
        "servedModelName": naming.served_model_name(endpoint.name),
    }


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
        "backend": _canary_backend(ctx, endpoint),
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
