"""Live objects as the cluster stores them: a rendered object plus what the API server, the
controllers and Argo CD add (uid, generation, finalizers, tracking annotation, status blocks).

Status blocks follow what the controllers write: KServe 0.15-0.20 in Standard (raw Deployment)
mode (Knative-style conditions with lastTransitionTime and severity, modelStatus), the Job
controller of Kubernetes 1.31+ (SuccessCriteriaMet/FailureTarget before Complete/Failed), Kubeflow
Trainer v2 (metav1 conditions, jobsStatus) and Argo CD 3.x (status.sync, status.health,
status.operationState).
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

T0, T1, T2 = "2026-08-20T09:58:11Z", "2026-08-20T10:04:37Z", "2026-08-20T10:15:02Z"
REVISION = "9f3c2a7d4e1b8c6a5f0e2d4c6b8a0f1e3d5c7b9a"
APPLICATION = "llmops-dev"


def condition(
    type_: str, status: str, reason: str = "", message: str = "", when: str = T1, severity: str = ""
) -> dict[str, Any]:
    """A condition as serialised: empty reason, message and severity are left out (omitempty)."""
    value: dict[str, Any] = {"lastTransitionTime": when, "status": status, "type": type_}
    for key, item in (("reason", reason), ("message", message), ("severity", severity)):
        if item:
            value[key] = item
    return value


def stored(
    rendered: dict[str, Any], *, generation: int = 1, application: str = APPLICATION
) -> dict[str, Any]:
    """The rendered object after Argo CD applied it: server-set metadata and Argo CD's tracking
    annotation."""
    obj = copy.deepcopy(rendered)
    metadata = obj["metadata"]
    seed = hashlib.sha256(f"{metadata['namespace']}/{metadata['name']}".encode()).hexdigest()
    metadata.update(
        {
            "uid": f"{seed[:8]}-{seed[8:12]}-4{seed[13:16]}-a{seed[17:20]}-{seed[20:32]}",
            "resourceVersion": str(int(seed[:6], 16)),
            "generation": generation,
            "creationTimestamp": T0,
        }
    )
    group = obj["apiVersion"].rpartition("/")[0]
    metadata.setdefault("annotations", {})["argocd.argoproj.io/tracking-id"] = (
        f"{application}:{group}/{obj['kind']}:{metadata['namespace']}/{metadata['name']}"
    )
    metadata["managedFields"] = [
        {
            "manager": "argocd-controller",
            "operation": "Apply",
            "apiVersion": obj["apiVersion"],
            "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {}},
        }
    ]
    if obj["kind"] == "InferenceService":
        metadata["finalizers"] = ["inferenceservice.finalizers"]
    return obj


# --- KServe InferenceService
# ---------------------------------------------------------------------------------

STOPPED_FALSE = condition("Stopped", "False", when=T0, severity="Info")
ALL_READY = [
    condition("IngressReady", "True"),
    condition("PredictorReady", "True"),
    condition("Ready", "True"),
    STOPPED_FALSE,
]
DEADLINE = 'ReplicaSet "example-model-predictor-6c9f7d5b8" has timed out progressing.'


def model_status(
    transition: str = "UpToDate", active: str = "Loaded", target: str = "Loaded"
) -> dict[str, Any]:
    return {
        "transitionStatus": transition,
        "states": {"activeModelState": active, "targetModelState": target},
        "copies": {"failedCopies": 0, "totalCopies": 1},
    }


def serving_status(
    obj: dict[str, Any],
    conditions: list[dict[str, Any]],
    model: dict[str, Any],
    observed_generation: int,
) -> dict[str, Any]:
    name, namespace = obj["metadata"]["name"], obj["metadata"]["namespace"]
    return {
        "address": {"url": f"http://{name}-predictor.{namespace}.svc.cluster.local"},
        "url": f"http://{name}-{namespace}.example.com",
        "components": {
            "predictor": {
                "latestCreatedRevision": str(observed_generation),
                "url": f"http://{name}-predictor-{namespace}.example.com",
            }
        },
        "conditions": conditions,
        "deploymentMode": "Standard",
        "clusterServingRuntimeName": "kserve-huggingfaceserver",
        "modelStatus": model,
        "observedGeneration": observed_generation,
    }


def ready_isvc(
    rendered: dict[str, Any],
    *,
    generation: int = 1,
    observed_generation: int | None = None,
    conditions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    obj = stored(rendered, generation=generation)
    observed = generation if observed_generation is None else observed_generation
    obj["status"] = serving_status(obj, conditions or ALL_READY, model_status(), observed)
    return obj


def failing_isvc(
    rendered: dict[str, Any], reason: str = "ProgressDeadlineExceeded", message: str = DEADLINE
) -> dict[str, Any]:
    """A rollout that never became available: PredictorReady (and Ready, which aggregates it)
    False."""
    obj = stored(rendered, generation=2)
    conditions = [
        condition("IngressReady", "True", when=T0),
        condition("PredictorReady", "False", reason, message, T2),
        condition("Ready", "False", reason, message, T2),
        STOPPED_FALSE,
    ]
    obj["status"] = serving_status(
        obj, conditions, model_status("InProgress", "Loaded", "Pending"), 2
    )
    return obj


def stopped_isvc(rendered: dict[str, Any]) -> dict[str, Any]:
    """Stopped with the `serving.kserve.io/stop` annotation (KServe >= 0.15)."""
    obj = stored(rendered, generation=2)
    obj["metadata"]["annotations"]["serving.kserve.io/stop"] = "true"
    why = "The inference service is stopped"
    conditions = [
        condition("IngressReady", "False", "Stopped", why, T2),
        condition("PredictorReady", "False", "Stopped", why, T2),
        condition("Ready", "False", "Stopped", why, T2),
        condition("Stopped", "True", when=T2, severity="Info"),
    ]
    obj["status"] = serving_status(obj, conditions, model_status(), 2)
    return obj


# --- batch/v1 Job and Kubeflow TrainJob
# ----------------------------------------------------------------------


def job_condition(type_: str, reason: str, message: str, when: str = T2) -> dict[str, Any]:
    return {
        "type": type_,
        "status": "True",
        "reason": reason,
        "message": message,
        "lastProbeTime": when,
        "lastTransitionTime": when,
    }


def job(rendered: dict[str, Any], state: str) -> dict[str, Any]:
    """A Job `running`, `succeeded`, `failed` (backoff limit reached) or `suspended`."""
    obj = stored(rendered)
    status: dict[str, Any] = {"startTime": T1, "terminating": 0, "uncountedTerminatedPods": {}}
    if state == "running":
        status.update(active=1, ready=1)
    elif state == "succeeded":
        done = "Reached expected number of succeeded pods"
        status.update(
            ready=0,
            succeeded=1,
            completionTime=T2,
            conditions=[
                job_condition("SuccessCriteriaMet", "CompletionsReached", done),
                job_condition("Complete", "CompletionsReached", done),
            ],
        )
    elif state == "failed":
        limit = "Job has reached the specified backoff limit"
        status.update(
            ready=0,
            failed=3,
            conditions=[
                job_condition("FailureTarget", "BackoffLimitExceeded", limit),
                job_condition("Failed", "BackoffLimitExceeded", limit),
            ],
        )
    elif state == "suspended":
        obj["spec"]["suspend"] = True
        status = {"conditions": [job_condition("Suspended", "JobSuspended", "Job suspended")]}
    else:
        raise ValueError(state)
    obj["status"] = status
    return obj


def train_job(rendered: dict[str, Any], state: str) -> dict[str, Any]:
    """A TrainJob `running` or `failed`, with its child JobSet's Jobs in jobsStatus."""
    obj = stored(rendered)
    if state == "running":
        obj["status"] = {
            "conditions": [
                {
                    "type": "Suspended",
                    "status": "False",
                    "reason": "Resumed",
                    "message": "TrainJob is resumed",
                    "lastTransitionTime": T1,
                    "observedGeneration": 1,
                }
            ],
            "jobsStatus": [
                {
                    "name": "node",
                    "ready": 2,
                    "succeeded": 0,
                    "failed": 0,
                    "active": 2,
                    "suspended": 0,
                }
            ],
        }
    elif state == "failed":
        obj["status"] = {
            "conditions": [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "JobsFailed",
                    "message": 'jobset failed: job "node-0" failed',
                    "lastTransitionTime": T2,
                    "observedGeneration": 1,
                }
            ],
            "jobsStatus": [
                {
                    "name": "node",
                    "ready": 0,
                    "succeeded": 0,
                    "failed": 1,
                    "active": 0,
                    "suspended": 0,
                }
            ],
        }
    else:
        raise ValueError(state)
    return obj


# --- Argo CD Application
# -------------------------------------------------------------------------------------


def application(
    rendered: dict[str, Any],
    *,
    sync: str = "Synced",
    health: str = "Healthy",
    phase: str = "Succeeded",
    message: str = "successfully synced (all tasks run)",
    health_message: str = "",
    revision: str = REVISION,
) -> dict[str, Any]:
    obj = copy.deepcopy(rendered)
    metadata = obj["metadata"]
    metadata.update(
        {
            "uid": "5c1e7d2a-9b3f-4e6a-8c2d-0f1a3b5c7d9e",
            "resourceVersion": "48213",
            "generation": 7,
            "creationTimestamp": T0,
        }
    )
    source = obj["spec"]["source"]
    health_block: dict[str, Any] = {"status": health, "lastTransitionTime": T2}
    if health_message:
        health_block["message"] = health_message
    obj["status"] = {
        "sync": {
            "status": sync,
            "revision": revision,
            "comparedTo": {"source": source, "destination": obj["spec"]["destination"]},
        },
        "health": health_block,
        "operationState": {
            "operation": {
                "sync": {"revision": revision, "prune": True},
                "initiatedBy": {"automated": True},
                "retry": {"limit": 5},
            },
            "phase": phase,
            "message": message,
            "startedAt": T1,
            **({} if phase == "Running" else {"finishedAt": T2}),
            "syncResult": {"revision": revision, "source": source, "resources": []},
        },
        "reconciledAt": T2,
        "sourceType": "Plugin",
        "controllerNamespace": "argocd",
        "summary": {"images": ["kserve/huggingfaceserver:v0.15.2"]},
    }
    return obj
