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
