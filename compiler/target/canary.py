"""Names of a canary's rendered objects, shared by the renderer and the name checks."""

from __future__ import annotations

from compiler.target import naming

CANARY_SUFFIX = "-canary"
VARIANT_LABEL = "llmops.io/variant"


def canary_service_name(endpoint: str) -> str:
    """The canary's InferenceService: the endpoint's name with a fixed suffix, so one endpoint has
    at most one canary and its name never changes with the version it serves."""
    return naming.inference_service_name(endpoint) + CANARY_SUFFIX


def canary_label_names(endpoint: str, namespace: str) -> list[tuple[str, str]]:
    """(what, name) pairs of the canary's derived names that must fit in one DNS label."""
    name = canary_service_name(endpoint)
    return [
        ("canary InferenceService's predictor name", naming.predictor_name(name)),
        (
            "canary InferenceService's host label (<name>-canary-<namespace>)",
            naming.kserve_host_label(name, namespace),
        ),
    ]


def canary_predictor_url(endpoint: str, namespace: str) -> str:
    return naming.predictor_url(canary_service_name(endpoint), namespace)
