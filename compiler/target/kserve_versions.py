"""What differs between KServe releases, as small named functions keyed by version (shared by check
and render)."""

from __future__ import annotations

import re

DEPLOYMENT_MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
AUTOSCALER_CLASS_ANNOTATION = "serving.kserve.io/autoscalerClass"
FIRST_STANDARD_MODE_RELEASE = (0, 16)
# `spec.predictor.storageUris` and the Hugging Face runtime's registration of LoRA modules as models
FIRST_LORA_ADAPTERS_RELEASE = (0, 16)
OLDEST_KSERVE = (0, 13)  # the first release with the Hugging Face model server
NEWEST_KSERVE = (0, 20)  # the newest release whose CRDs and webhook llmops was checked against


def parse_minor(version: str) -> tuple[int, int] | None:
    """`0.15`, `v0.16.1` -> (0, 15), (0, 16); None for anything else (a version number has a few
    digits)."""
    match = re.fullmatch(r"v?([0-9]{1,6})\.([0-9]{1,6})(\.[0-9]{1,6})?", version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def raw_deployment_mode(version: str) -> str:
    """The annotation value of raw-Deployment ("Standard") mode.

    KServe renamed `RawDeployment` to `Standard` in 0.16. Newer webhooks only apply the HPA and
    rollout validation to the literal `Standard`, and never let the mode change on an existing
    object, so the value must match the cluster's release exactly.
    """
    minor = parse_minor(version)
    return "Standard" if minor is None or minor >= FIRST_STANDARD_MODE_RELEASE else "RawDeployment"


def serves_lora_adapters(version: str) -> bool:
    """Whether the release downloads several storage URIs into one predictor and registers each
    LoRA module under its name (both came in 0.16)."""
    minor = parse_minor(version)
    return minor is None or minor >= FIRST_LORA_ADAPTERS_RELEASE


# LLMInferenceService (serving.kserve.io): v1alpha1 since 0.16; v1alpha2 from 0.17, also the
# storage version of the newest CRD vendored in conformance/ (which serves both).
FIRST_LLM_INFERENCE_SERVICE_RELEASE = (0, 16)
FIRST_LLM_INFERENCE_SERVICE_V1ALPHA2_RELEASE = (0, 17)


# `router.route.group` and `router.route.weight`: LLMInferenceServices of one group share one
# weighted HTTPRoute (KServe's traffic splitting, merged in July 2026). The earliest release this
# project has verified carrying them is the one vendored in conformance/.
FIRST_LLM_ROUTE_GROUP_RELEASE = (0, 20)


def serves_llm_route_groups(version: str) -> bool:
    """Whether the release splits traffic among LLMInferenceServices by route group and weight."""
    minor = parse_minor(version)
    return minor is None or minor >= FIRST_LLM_ROUTE_GROUP_RELEASE


def serves_llm_inference_service(version: str) -> bool:
    """Whether the release has the LLMInferenceService CRD and controller."""
    minor = parse_minor(version)
    return minor is None or minor >= FIRST_LLM_INFERENCE_SERVICE_RELEASE


def llm_inference_service_api_version(version: str) -> str:
    """The newest LLMInferenceService API version the release serves."""
    minor = parse_minor(version)
    newest = minor is None or minor >= FIRST_LLM_INFERENCE_SERVICE_V1ALPHA2_RELEASE
    return "serving.kserve.io/" + ("v1alpha2" if newest else "v1alpha1")
