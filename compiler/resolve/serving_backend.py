"""Which KServe object an endpoint is rendered as (shared by check, render and status)."""

from __future__ import annotations

from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.spec.llm_inference_service import ServingBackend
from compiler.spec.serving import ServingEndpointSpec

LLM_INFERENCE_SERVICE: ServingBackend = "llminferenceservice"
KIND = {"inferenceservice": "InferenceService", "llminferenceservice": "LLMInferenceService"}


def endpoint_backend(env: ResolvedEnvironment, endpoint: Manifest[ServingEndpointSpec]) -> str:
    """The endpoint's own `backend`, else the environment's `kserve.backend`."""
    return endpoint.spec.backend or env.settings.kserve.backend


def is_llm_inference_service(
    env: ResolvedEnvironment, endpoint: Manifest[ServingEndpointSpec]
) -> bool:
    return endpoint_backend(env, endpoint) == LLM_INFERENCE_SERVICE
