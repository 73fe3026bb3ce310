"""Verdicts from live objects (plain dicts as the API server returns them); no cluster access here.

InferenceService, in this order (the same order as deploy/argocd/health/inferenceservice.lua, so
`llmops status` and Argo CD agree; that script's reasons and words are kept identical by a test):
  1. not found                                                   -> Missing
  2. no status yet                                               -> Progressing
  3. condition Stopped=True -> Degraded ("stopped": the revision renders a serving endpoint, so a
     stopped one is not serving what git says)
  4. a failure: modelStatus BlockedByFailedLoad / InvalidSpec / FailedToLoad, or a condition False
     whose reason names a failure (ProgressDeadlineExceeded, ...) -> Degraded, with reason and
     message
  5. status.observedGeneration < metadata.generation              -> Progressing
  6. Ready and every other condition True, model UpToDate -> Healthy, unless it drifted from the
     current revision -> Progressing (Argo CD has not synced the revision yet, or someone changed
     the object and self-heal will revert it)
  7. anything else -> Progressing, listing what is not True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from compiler.records import record
from llmops.status.drift import object_drift
from llmops.status.model import (
    ENDPOINT_CONDITIONS,
    ApplicationStatus,
    Condition,
    EndpointStatus,
    Lookup,
    ObjectRef,
    TrainingJobStatus,
    Verdict,
)
from llmops.status.targets import EndpointTarget, TrainingJobTarget

# Reasons KServe and the Deployment controller use for failures, and words marking any other reason
# as one: the lists of deploy/argocd/health/inferenceservice.lua.
FAILURE_REASONS = frozenset(
    {
        "ModelLoadFailed",
        "RuntimeUnhealthy",
        "RuntimeDisabled",
        "NoSupportingRuntime",
        "RuntimeNotRecognized",
        "InvalidPredictorSpec",
        "InvalidWorkerSpecNotSet",
        "InvalidGPUAllocation",
        "ProgressDeadlineExceeded",
        "FailedCreate",
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
    }
)
FAILURE_WORDS = ("Fail", "Error", "Invalid", "CrashLoop", "BackOff", "DeadlineExceeded")
FAILED_MODEL_TRANSITIONS = frozenset({"BlockedByFailedLoad", "InvalidSpec"})
MAX_DRIFT_PATHS_IN_REASON = 3


def is_failure_reason(reason: str | None) -> bool:
    return bool(reason) and (
        reason in FAILURE_REASONS or any(word in str(reason) for word in FAILURE_WORDS)
    )


def explain(reason: str | None, message: str | None) -> str:
    """`reason: message`, leaving out whichever is empty."""
    return ": ".join(part for part in (reason, message) if part)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _generation(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def conditions_of(status: dict[str, Any]) -> list[Condition]:
    raw = status.get("conditions")
    return (
        [Condition.from_live(c) for c in raw if isinstance(c, dict)]
        if isinstance(raw, list)
        else []
    )


# --- InferenceService
# -------------------------------------------------------------------------------------


def _failures(status: dict[str, Any], conditions: list[Condition]) -> list[str]:
    failures = []
    model = _mapping(status.get("modelStatus"))
    transition = model.get("transitionStatus")
    target = _mapping(model.get("states")).get("targetModelState")
    if transition in FAILED_MODEL_TRANSITIONS or target == "FailedToLoad":
        line = f"model {transition or ''}".rstrip() + (f" (target {target})" if target else "")
        failure = _mapping(model.get("lastFailureInfo"))
        detail = explain(failure.get("reason"), failure.get("message"))
        failures.append(f"{line}: {detail}" if detail else line)
    reported = set()  # Ready repeats the reason and message of the condition that made it False
    for condition in conditions:
        if (
            condition.type != "Stopped"
            and condition.status == "False"
            and is_failure_reason(condition.reason)
        ):
            detail = explain(condition.reason, condition.message)
            if detail not in reported:
                reported.add(detail)
                failures.append(f"{condition.type}: {detail}")
    return failures


def _not_ready(status: dict[str, Any], conditions: list[Condition]) -> list[str]:
    pending, explained = [], set()
    for condition in conditions:
        if condition.type == "Stopped" or condition.status == "True":
            continue
        line = f"{condition.type}={condition.status}"
        detail = explain(condition.reason, condition.message)
        if detail and detail not in explained:
            explained.add(detail)
            line += f" ({detail})"
        pending.append(line)
    transition = _mapping(status.get("modelStatus")).get("transitionStatus")
    if transition and transition != "UpToDate":
        pending.append(f"model {transition}")
    if not any(c.type == "Ready" and c.status == "True" for c in conditions) and not pending:
        pending.append("no Ready condition yet")
    return pending


def drift_reason(count: int, paths: list[str]) -> str:
    shown = ", ".join(paths[:MAX_DRIFT_PATHS_IN_REASON])
    more = (
        f" and {count - MAX_DRIFT_PATHS_IN_REASON} more"
        if count > MAX_DRIFT_PATHS_IN_REASON
        else ""
    )
    return f"serving, but the live object differs from the current revision at {shown}{more}"


ConditionReading = Callable[[dict[str, Any], list[Condition]], list[str]]


@record
class EndpointRules:
    """What differs between an InferenceService's and an LLMInferenceService's verdict: the same
    steps (no status, stopped, failures, unobserved generation, not ready, drift, healthy) read
    by each backend's own conditions."""

    controller: str  # who reports status: "the KServe controller"
    stop_hint: str  # what stopped it when its condition says nothing
    failures: ConditionReading
    not_ready: ConditionReading


def judge_endpoint(
    rules: EndpointRules,
    result: EndpointStatus,
    status: dict[str, Any],
    conditions: list[Condition],
) -> tuple[Verdict, str]:
    if not status:
        return Verdict.PROGRESSING, f"waiting for {rules.controller} to report status"
    stopped = result.conditions["Stopped"]
    if result.stopped and stopped is not None:
        detail = explain(stopped.reason, stopped.message)
        return Verdict.DEGRADED, "stopped" + (f": {detail}" if detail else rules.stop_hint)
    failures = rules.failures(status, conditions)
    if failures:
        return Verdict.DEGRADED, "; ".join(failures)
    generation, observed = result.generation, result.observed_generation
    if generation is not None and observed is not None and observed < generation:
        return Verdict.PROGRESSING, (
            f"the controller has not yet observed generation {generation} "
            f"(status is for generation {observed})"
        )
    pending = rules.not_ready(status, conditions)
    if pending:
        return Verdict.PROGRESSING, "not ready: " + ", ".join(pending)
    if result.drift:
        return Verdict.PROGRESSING, drift_reason(len(result.drift), [d.path for d in result.drift])
    return Verdict.HEALTHY, "ready"


def read_endpoint(
    target: EndpointTarget, lookup: Lookup, shown: tuple[str, ...], rules: EndpointRules
) -> EndpointStatus:
    """What an endpoint's live object says (``shown``: the conditions listed), judged by the
    backend's own rules; an InferenceService and an LLMInferenceService are read alike
    and differ only in their conditions."""
    if lookup.live is None:
        return EndpointStatus(
            target.name,
            target.object,
            Verdict.MISSING,
            lookup.missing,
            found=False,
            conditions=dict.fromkeys(shown),
        )
    live = lookup.live
    metadata, status = _mapping(live.get("metadata")), _mapping(live.get("status"))
    conditions = conditions_of(status)
    by_type = {c.type: c for c in conditions}
    result = EndpointStatus(
        target.name,
        target.object,
        Verdict.PROGRESSING,
        "",
        conditions={name: by_type.get(name) for name in shown},
        stopped=by_type.get("Stopped", Condition("Stopped", "False")).status == "True",
        generation=_generation(metadata.get("generation")),
        observed_generation=_generation(status.get("observedGeneration")),
        url=status.get("url") if isinstance(status.get("url"), str) else None,
        drift=object_drift(target.rendered, live),
    )
    result.verdict, result.reason = judge_endpoint(rules, result, status, conditions)
    return result


INFERENCE_SERVICE_RULES = EndpointRules(
    controller="the KServe controller",
    stop_hint=" (annotation serving.kserve.io/stop)",
    failures=_failures,
    not_ready=_not_ready,
)


def endpoint_status(target: EndpointTarget, lookup: Lookup) -> EndpointStatus:
    return read_endpoint(target, lookup, ENDPOINT_CONDITIONS, INFERENCE_SERVICE_RULES)


# --- training: batch/v1 Job or Kubeflow Trainer TrainJob
# ---------------------------------------------------


def _true(conditions: list[Condition], *types: str) -> Condition | None:
    return next((c for c in conditions if c.type in types and c.status == "True"), None)


def training_job_status(target: TrainingJobTarget, lookup: Lookup) -> TrainingJobStatus:
    """Failed (or FailureTarget, set before the Job's pods are gone) -> Degraded; Complete ->
    Healthy; suspended, running or not started yet -> Progressing. TrainJobs count their child
    Jobs."""
    if lookup.live is None:
        return TrainingJobStatus(
            target.name, target.object, Verdict.MISSING, lookup.missing, "Missing", found=False
        )
    live = lookup.live
    status = _mapping(live.get("status"))
    conditions = conditions_of(status)
    if target.object.kind == "TrainJob":
        children = [
            _mapping(child) for child in status.get("jobsStatus") or [] if isinstance(child, dict)
        ]
        active, succeeded, failed = (
            sum(_count(child.get(key)) for child in children)
            for key in ("active", "succeeded", "failed")
        )
    else:
        active, succeeded, failed = (
            _count(status.get(key)) for key in ("active", "succeeded", "failed")
        )
    result = TrainingJobStatus(
        target.name,
        target.object,
        Verdict.PROGRESSING,
        "",
        "Pending",
        active=active,
        succeeded=succeeded,
        failed=failed,
        conditions=conditions,
    )
    failure = _true(conditions, "Failed", "FailureTarget")
    if failure is not None:
        result.verdict, result.state = Verdict.DEGRADED, "Failed"
        result.reason = explain(failure.reason, failure.message) or "failed"
    elif (done := _true(conditions, "Complete")) is not None:
        result.verdict, result.state = Verdict.HEALTHY, "Succeeded"
        result.reason = "completed" + (
            f" at {done.last_transition_time}" if done.last_transition_time else ""
        )
    elif (
        _true(conditions, "Suspended") is not None
        or _mapping(live.get("spec")).get("suspend") is True
    ):
        result.state, result.reason = "Suspended", "suspended (waiting to be admitted)"
    elif active > 0:
        result.state = "Running"
        result.reason = f"{active} running" + (
            f", {failed} failed attempt(s) so far" if failed else ""
        )
    else:
        result.reason = (
            "no pod running yet" if status else "waiting for the controller to report status"
        )
    return result


# --- Argo CD Application
# -----------------------------------------------------------------------------------


def application_status(ref: ObjectRef, lookup: Lookup) -> ApplicationStatus:
    """Error conditions, health Degraded/Missing or a failed sync -> Degraded; Synced and Healthy ->
    Healthy; anything else (OutOfSync, a sync running, health Progressing) -> Progressing."""
    if lookup.live is None:
        return ApplicationStatus(ref, Verdict.MISSING, lookup.missing, found=False)
    status = _mapping(lookup.live.get("status"))
    sync, health = _mapping(status.get("sync")), _mapping(status.get("health"))
    operation = _mapping(status.get("operationState"))
    result = ApplicationStatus(
        ref,
        Verdict.PROGRESSING,
        "",
        sync=sync.get("status"),
        health=health.get("status"),
        revision=sync.get("revision"),
        operation=operation.get("phase"),
    )
    errors = [c for c in conditions_of(status) if c.type.endswith("Error")]
    problems = [f"{c.type}: {c.message}" if c.message else c.type for c in errors]
    if result.health in ("Degraded", "Missing") and result.operation != "Running":
        problems.append(explain(f"health {result.health}", health.get("message")))
    if result.operation in ("Failed", "Error"):
        problems.append(explain(f"sync {result.operation}", operation.get("message")))
    if problems:
        result.verdict, result.reason = Verdict.DEGRADED, "; ".join(problems)
    elif result.sync == "Synced" and result.health == "Healthy" and result.operation != "Running":
        result.verdict, result.reason = Verdict.HEALTHY, "synced and healthy"
    else:
        waiting = [f"sync {result.sync or 'Unknown'}"] if result.sync != "Synced" else []
        if result.health != "Healthy":
            waiting.append(explain(f"health {result.health or 'Unknown'}", health.get("message")))
        if result.operation == "Running":
            waiting.append(explain("sync operation Running", operation.get("message")))
        result.reason = "; ".join(waiting)
    return result
