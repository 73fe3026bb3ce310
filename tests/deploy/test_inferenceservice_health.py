"""The custom Argo CD health check for KServe InferenceServices
(deploy/argocd/health/inferenceservice.lua).

Each case is an InferenceService as the KServe 0.20 controller writes it in Standard (raw
Deployment) mode, run through our script and through the check bundled with Argo CD 3.5.1 (vendored
unmodified under conformance/crds/argo-cd/), so the places where ours deliberately differs are
pinned next to the ones where it agrees.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.argocd_lua import run_health_check
from tests.deploy.embedded import EMBEDDED
from tests.helpers.estate import PROJECT_ROOT
from tests.helpers.live_objects import T0, T1, T2, condition

SCRIPT_PATH = PROJECT_ROOT / "deploy" / "argocd" / "health" / "inferenceservice.lua"
CONFIGMAP_PATH = PROJECT_ROOT / "deploy" / "argocd" / "argocd-cm-health.yaml"
UPSTREAM_PATH = (
    PROJECT_ROOT
    / "conformance"
    / "crds"
    / "argo-cd"
    / "resource_customizations"
    / "serving.kserve.io"
    / "InferenceService"
    / "health.lua"
)
HEALTH_KEY = "resource.customizations.health.serving.kserve.io_InferenceService"
OPEN_LIBS_KEY = "resource.customizations.useOpenLibs.serving.kserve.io_InferenceService"

SCRIPT = SCRIPT_PATH.read_text(encoding="utf-8")


def _configmap() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(CONFIGMAP_PATH.read_text(encoding="utf-8"))
    return loaded


# What argocd-cm configures: the script runs with the standard libraries exactly when it says so.
OPEN_LIBS = _configmap()["data"].get(OPEN_LIBS_KEY) == "true"


def upstream_script() -> str:
    return UPSTREAM_PATH.read_text(encoding="utf-8")


# --- InferenceServices as KServe writes them
# -------------------------------------------------------------

POD = "llama3-8b-predictor-6c9f7d5b8-x2k4q"


def isvc(*, generation: int = 1, status: dict[str, Any] | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": "llama3-8b",
            "namespace": "llm-ops-dev",
            "generation": generation,
            "uid": "2f0c6a43-6d2b-4a0e-9d8e-1f4b1c9a7e55",
            "resourceVersion": "1873345",
            "creationTimestamp": T0,
            "finalizers": ["inferenceservice.finalizers"],
            "labels": {"app.kubernetes.io/managed-by": "llmops", "llmops.io/environment": "dev"},
            "annotations": {
                "argocd.argoproj.io/sync-wave": "1",
                "argocd.argoproj.io/tracking-id": (
                    "llmops-dev:serving.kserve.io/InferenceService:llm-ops-dev/llama3-8b"
                ),
                "serving.kserve.io/autoscalerClass": "hpa",
                "serving.kserve.io/deploymentMode": "Standard",
            },
        },
        "spec": {
            "predictor": {
                "automountServiceAccountToken": False,
                "minReplicas": 1,
                "maxReplicas": 3,
                "scaleMetric": "cpu",
                "scaleTarget": 70,
                "model": {
                    "modelFormat": {"name": "huggingface"},
                    "runtime": "kserve-huggingfaceserver",
                    "storageUri": "hf://meta-llama/Meta-Llama-3-8B-Instruct",
                    "args": [
                        "--model_name=llama3-8b",
                        "--backend=huggingface",
                        "--max_model_len=4096",
                    ],
                    "resources": {
                        "requests": {"cpu": "4", "memory": "16Gi"},
                        "limits": {"cpu": "8", "memory": "16Gi"},
                    },
                },
            },
        },
    }
    if status is not None:
        obj["status"] = status
    return obj


def model_status(
    transition: str,
    active: str,
    target: str,
    *,
    failure: dict[str, Any] | None = None,
    copies: int = 1,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "transitionStatus": transition,
        "states": {"activeModelState": active, "targetModelState": target},
        "copies": {"failedCopies": 0, "totalCopies": copies},
    }
    if failure is not None:
        value["lastFailureInfo"] = failure
    return value


def serving_status(
    conditions: list[dict[str, Any]], model: dict[str, Any], *, observed_generation: int = 1
) -> dict[str, Any]:
    return {
        "address": {"url": "http://llama3-8b-predictor.llm-ops-dev.svc.cluster.local"},
        "url": "http://llama3-8b-llm-ops-dev.dev.llm-ops.local",
        "components": {
            "predictor": {
                "latestCreatedRevision": "2",
                "url": "http://llama3-8b-predictor-llm-ops-dev.dev.llm-ops.local",
            }
        },
        "conditions": conditions,
        "deploymentMode": "Standard",
        "clusterServingRuntimeName": "kserve-huggingfaceserver",
        "modelStatus": model,
        "observedGeneration": observed_generation,
    }


STOPPED_FALSE = condition("Stopped", "False", when=T0, severity="Info")
ALL_READY = [
    condition("IngressReady", "True"),
    condition("PredictorReady", "True"),
    condition("Ready", "True"),
    STOPPED_FALSE,
]
LOADED = model_status("UpToDate", "Loaded", "Loaded")
LOAD_FAILURE = {
    "location": POD,
    "reason": "ModelLoadFailed",
    "message": (
        "OSError: meta-llama/Meta-Llama-3-8B-Instruct is not a local folder and is not a valid "
        "model identifier listed on 'https://huggingface.co/models'"
    ),
    "exitCode": 1,
    "time": T1,
}


def healthy(generation: int = 1, observed_generation: int = 1) -> dict[str, Any]:
    return isvc(
        generation=generation,
        status=serving_status(ALL_READY, LOADED, observed_generation=observed_generation),
    )


def stopped(generation: int = 1, observed_generation: int = 1) -> dict[str, Any]:
    why = "The inference service is stopped"
    conditions = [
        condition("IngressReady", "False", "Stopped", why, T2),
        condition("PredictorReady", "False", "Stopped", why, T2),
        condition("Ready", "False", "Stopped", why, T2),
        condition("Stopped", "True", when=T2, severity="Info"),
    ]
    return isvc(
        generation=generation,
        status=serving_status(conditions, LOADED, observed_generation=observed_generation),
    )


def predictor_not_ready(
    reason: str,
    message: str,
    model: dict[str, Any],
    *,
    status: str = "False",
    generation: int = 2,
    observed_generation: int = 2,
) -> dict[str, Any]:
    """PredictorReady (and so Ready, which aggregates it) not True, with the Deployment's reason."""
    conditions = [
        condition("IngressReady", "True", when=T0),
        condition("PredictorReady", status, reason, message, T2),
        condition("Ready", status, reason, message, T2),
        STOPPED_FALSE,
    ]
    return isvc(
        generation=generation,
        status=serving_status(conditions, model, observed_generation=observed_generation),
    )


ROLLING = model_status("InProgress", "Loaded", "Pending")
DEADLINE = 'ReplicaSet "llama3-8b-predictor-6c9f7d5b8" has timed out progressing.'
QUOTA = (
    'pods "llama3-8b-predictor-6c9f7d5b8-x2k4q" is forbidden: exceeded quota: llm-ops-dev-quota, '
    "requested: requests.memory=16Gi, used: requests.memory=48Gi, limited: requests.memory=56Gi"
)
UNAVAILABLE = "Deployment does not have minimum availability."


@dataclass(frozen=True)
class Case:
    obj: dict[str, Any]
    status: str  # ours
    says: tuple[str, ...]  # substrings of our message
    upstream: str  # the check bundled with Argo CD 3.5.1


CASES: dict[str, Case] = {
    "no status yet": Case(isvc(), "Progressing", ("status",), "Progressing"),
    "status without conditions": Case(
        isvc(status={"modelStatus": {"transitionStatus": "InProgress"}}),
        "Progressing",
        ("model InProgress",),
        "Progressing",
    ),
    "just created, conditions Unknown": Case(
        isvc(
            status=serving_status(
                [
                    condition("IngressReady", "Unknown"),
                    condition("PredictorReady", "Unknown"),
                    condition("Ready", "Unknown"),
                ],
                model_status("InProgress", "", "Pending"),
            )
        ),
        "Progressing",
        ("IngressReady=Unknown", "PredictorReady=Unknown", "Ready=Unknown"),
        "Progressing",
    ),
    "ready and up to date": Case(healthy(), "Healthy", ("ready",), "Healthy"),
    "ready after a failure (lastFailureInfo is never cleared)": Case(
        isvc(
            status=serving_status(
                ALL_READY, model_status("UpToDate", "Loaded", "Loaded", failure=LOAD_FAILURE)
            )
        ),
        "Healthy",
        ("ready",),
        "Healthy",
    ),
    "status older than the spec": Case(
        healthy(generation=3, observed_generation=2),
        "Progressing",
        ("observe generation 3", "is 2"),
        "Healthy",
    ),
    "Deployment generation ahead of the spec": Case(
        healthy(generation=2, observed_generation=5), "Healthy", ("ready",), "Healthy"
    ),
    "stopped": Case(stopped(), "Suspended", ("stopped",), "Suspended"),
    "stopped, then the spec changed": Case(
        stopped(generation=4, observed_generation=3), "Suspended", ("stopped",), "Suspended"
    ),
    "rolling out a new revision": Case(
        predictor_not_ready(
            "ReplicaSetUpdated",
            'ReplicaSet "llama3-8b-predictor-6c9f7d5b8" is progressing.',
            ROLLING,
            status="Unknown",
        ),
        "Progressing",
        ("PredictorReady=Unknown (ReplicaSetUpdated", "Ready=Unknown", "model InProgress"),
        "Progressing",
    ),
    "first rollout, pods not available yet": Case(
        predictor_not_ready(
            "MinimumReplicasUnavailable",
            UNAVAILABLE,
            model_status("InProgress", "", "Loading"),
            generation=1,
            observed_generation=1,
        ),
        "Progressing",
        (f"PredictorReady=False (MinimumReplicasUnavailable: {UNAVAILABLE})", "Ready=False"),
        "Progressing",
    ),
    "predictor failed: progress deadline exceeded": Case(
        predictor_not_ready("ProgressDeadlineExceeded", DEADLINE, ROLLING),
        "Degraded",
        (f"PredictorReady: ProgressDeadlineExceeded: {DEADLINE}",),
        "Progressing",
    ),
    "predictor failed: pods cannot be created": Case(
        predictor_not_ready("FailedCreate", QUOTA, ROLLING),
        "Degraded",
        (f"PredictorReady: FailedCreate: {QUOTA}",),
        "Progressing",
    ),
    "model failed to load (crash loop)": Case(
        predictor_not_ready(
            "MinimumReplicasUnavailable",
            UNAVAILABLE,
            model_status("BlockedByFailedLoad", "", "FailedToLoad", failure=LOAD_FAILURE, copies=0),
            generation=1,
            observed_generation=1,
        ),
        "Degraded",
        (
            "model BlockedByFailedLoad (target FailedToLoad)",
            f"ModelLoadFailed: {LOAD_FAILURE['message']}",
        ),
        "Degraded",
    ),
    "invalid spec, never reached the Deployment": Case(
        predictor_not_ready(
            "RuntimeNotRecognized",
            "Waiting for runtime to become available",
            model_status(
                "InvalidSpec",
                "Loaded",
                "FailedToLoad",
                failure={
                    "reason": "RuntimeNotRecognized",
                    "message": "Waiting for runtime to become available",
                },
            ),
            generation=3,
            observed_generation=2,
        ),
        "Degraded",
        (
            "model InvalidSpec",
            "RuntimeNotRecognized: Waiting for runtime to become available",
            "PredictorReady: RuntimeNotRecognized",
        ),
        "Degraded",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_verdict(name: str) -> None:
    case = CASES[name]
    result = run_health_check(SCRIPT, case.obj, open_libs=OPEN_LIBS)
    assert result["status"] == case.status, result
    for text in case.says:
        assert text.lower() in result["message"].lower(), (text, result)


@pytest.mark.parametrize("name", list(CASES))
def test_upstream_verdict(name: str) -> None:
    """The bundled check (run with the standard libraries, as Argo CD runs its built-ins)."""
    case = CASES[name]
    result = run_health_check(upstream_script(), case.obj, open_libs=True)
    assert result["status"] == case.upstream, result


# case -> (our verdict, the bundled check's): where ours deliberately differs
DELIBERATE_DIFFERENCES = {
    "predictor failed: progress deadline exceeded": ("Degraded", "Progressing"),
    "predictor failed: pods cannot be created": ("Degraded", "Progressing"),
    "status older than the spec": ("Progressing", "Healthy"),
}


@pytest.mark.parametrize("name", list(DELIBERATE_DIFFERENCES))
def test_deliberate_differences_from_the_bundled_check(name: str) -> None:
    obj = CASES[name].obj
    ours, theirs = DELIBERATE_DIFFERENCES[name]
    assert run_health_check(SCRIPT, obj, open_libs=OPEN_LIBS)["status"] == ours
    assert run_health_check(upstream_script(), obj, open_libs=True)["status"] == theirs


@pytest.mark.parametrize("name", [name for name in CASES if name not in DELIBERATE_DIFFERENCES])
def test_verdicts_agree_elsewhere(name: str) -> None:
    """Both scripts run on the same object: everywhere else ours says what the bundled check
    says."""
    obj = CASES[name].obj
    ours = run_health_check(SCRIPT, obj, open_libs=OPEN_LIBS)["status"]
    assert ours == run_health_check(upstream_script(), obj, open_libs=True)["status"]


@pytest.mark.parametrize("name", list(CASES))
def test_same_verdicts_without_the_standard_libraries(name: str) -> None:
    """If useOpenLibs is dropped, the script still runs and recognises KServe's own failure
    reasons."""
    with_libs = run_health_check(SCRIPT, CASES[name].obj, open_libs=True)
    assert run_health_check(SCRIPT, CASES[name].obj, open_libs=False) == with_libs


def test_failure_words_need_the_string_library() -> None:
    obj = predictor_not_ready(
        "StorageInitializerFailed", "could not download s3://models/llama3", ROLLING
    )
    assert run_health_check(SCRIPT, obj, open_libs=True)["status"] == "Degraded"
    assert run_health_check(SCRIPT, obj, open_libs=False)["status"] == "Progressing"


def test_ready_needed_for_healthy() -> None:
    obj = healthy()
    obj["status"]["conditions"] = [c for c in obj["status"]["conditions"] if c["type"] != "Ready"]
    assert run_health_check(SCRIPT, obj, open_libs=OPEN_LIBS)["status"] == "Progressing"


def test_no_generation_gate_without_observed_generation() -> None:
    obj = healthy(generation=7)
    del obj["status"]["observedGeneration"]
    assert run_health_check(SCRIPT, obj, open_libs=OPEN_LIBS)["status"] == "Healthy"


def test_input_is_not_changed() -> None:
    obj = CASES["model failed to load (crash loop)"].obj
    before = copy.deepcopy(obj)
    run_health_check(SCRIPT, obj, open_libs=OPEN_LIBS)
    assert obj == before


# --- the argocd-cm ConfigMap
# ----------------------------------------------------------------------------


def test_configmap_holds_the_script_verbatim() -> None:
    message = (
        f"{CONFIGMAP_PATH.relative_to(PROJECT_ROOT)} differs from "
        f"{SCRIPT_PATH.relative_to(PROJECT_ROOT)}: run `python3 -m tests.deploy.embedded`"
    )
    assert _configmap()["data"][HEALTH_KEY] == SCRIPT, message
    (embedded,) = [item for item in EMBEDDED if item.configmap == CONFIGMAP_PATH]
    assert CONFIGMAP_PATH.read_text(encoding="utf-8") == embedded.expected(), message


def test_configmap_is_argocd_cm() -> None:
    configmap = _configmap()
    assert configmap["apiVersion"] == "v1" and configmap["kind"] == "ConfigMap"
    assert configmap["metadata"]["name"] == "argocd-cm"
    assert configmap["metadata"]["namespace"] == "argocd"
    # Argo CD only watches ConfigMaps labelled as part of it.
    assert configmap["metadata"]["labels"]["app.kubernetes.io/part-of"] == "argocd"
    assert set(configmap["data"]) == {HEALTH_KEY, OPEN_LIBS_KEY}
    assert all(isinstance(value, str) for value in configmap["data"].values())
    assert OPEN_LIBS


def test_configmap_is_a_valid_kubernetes_object() -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    kubernetes_validate.validate(_configmap(), kubernetes_validate.latest_version(), strict=True)


def test_script_documents_the_observed_generation_caveat() -> None:
    assert "#6081" in SCRIPT
    assert Path(SCRIPT_PATH).read_bytes().endswith(b"\n")
