"""Verdicts on plain dicts, and agreement with the Argo CD health check llmops ships for
InferenceServices."""

from __future__ import annotations

import re
from typing import Any

import pytest

from llmops.status.model import Lookup, ObjectRef, Verdict
from llmops.status.targets import EndpointTarget, TrainingJobTarget
from llmops.status.verdict import (
    FAILURE_REASONS,
    FAILURE_WORDS,
    application_status,
    endpoint_status,
    training_job_status,
)
from tests.deploy.argocd_lua import run_health_check
from tests.deploy.test_inferenceservice_health import CASES, OPEN_LIBS, SCRIPT, SCRIPT_PATH
from tests.helpers import live_objects as live

ISVC = ObjectRef("serving.kserve.io/v1beta1", "InferenceService", "llm-ops-dev", "llama3-8b")
NO_RENDERED_FIELDS = EndpointTarget("llama3-8b", ISVC, {"metadata": {}})
# Argo CD's `Suspended` is what `llmops status` calls Degraded (stopped): the revision says serve.
LUA_TO_VERDICT = {
    "Healthy": Verdict.HEALTHY,
    "Progressing": Verdict.PROGRESSING,
    "Degraded": Verdict.DEGRADED,
    "Suspended": Verdict.DEGRADED,
}


def _lua_table(name: str) -> set[str]:
    body = re.search(rf"local {name} = \{{(.*?)\}}", SCRIPT, re.S)
    assert body is not None, f"{name} is not in {SCRIPT_PATH}"
    return set(re.findall(r'"([A-Za-z]+)"', body.group(1))) | set(
        re.findall(r"(\w+) = true", body.group(1))
    )


def test_failure_reasons_and_words_are_the_argocd_checks() -> None:
    assert _lua_table("FAILURE_REASONS") == set(FAILURE_REASONS)
    assert _lua_table("FAILURE_WORDS") == set(FAILURE_WORDS)


@pytest.mark.parametrize("name", list(CASES))
def test_endpoint_verdict_agrees_with_the_argocd_health_check(name: str) -> None:
    obj = CASES[name].obj
    expected = LUA_TO_VERDICT[run_health_check(SCRIPT, obj, open_libs=OPEN_LIBS)["status"]]
    assert endpoint_status(NO_RENDERED_FIELDS, Lookup(obj)).verdict is expected


def test_failure_beats_the_generation_gate_and_keeps_the_model_failure() -> None:
    obj = CASES["invalid spec, never reached the Deployment"].obj
    result = endpoint_status(NO_RENDERED_FIELDS, Lookup(obj))
    assert result.verdict is Verdict.DEGRADED
    assert result.reason.startswith(
        "model InvalidSpec (target FailedToLoad): RuntimeNotRecognized: "
    )
    assert (result.generation, result.observed_generation) == (3, 2)


def test_unknown_conditions_are_listed() -> None:
    result = endpoint_status(
        NO_RENDERED_FIELDS, Lookup(CASES["just created, conditions Unknown"].obj)
    )
    assert result.reason == (
        "not ready: IngressReady=Unknown, PredictorReady=Unknown, Ready=Unknown, model InProgress"
    )


def test_missing_and_no_status() -> None:
    missing = endpoint_status(
        NO_RENDERED_FIELDS, Lookup(None, "InferenceService llm-ops-dev/llama3-8b not found")
    )
    assert (missing.verdict, missing.found, missing.reason) == (
        Verdict.MISSING,
        False,
        "InferenceService llm-ops-dev/llama3-8b not found",
    )
    fresh = endpoint_status(NO_RENDERED_FIELDS, Lookup(CASES["no status yet"].obj))
    assert (fresh.verdict, fresh.reason) == (
        Verdict.PROGRESSING,
        "waiting for the KServe controller to report status",
    )


def test_drift_turns_healthy_into_progressing_but_never_hides_a_failure() -> None:
    rendered = {"metadata": {}, "spec": {"predictor": {"minReplicas": 5}}}
    target = EndpointTarget("llama3-8b", ISVC, rendered)
    healthy = endpoint_status(target, Lookup(CASES["ready and up to date"].obj))
    assert healthy.verdict is Verdict.PROGRESSING
    assert healthy.reason == (
        "serving, but the live object differs from the current revision at "
        "spec.predictor.minReplicas"
    )
    failed = endpoint_status(
        target, Lookup(CASES["predictor failed: progress deadline exceeded"].obj)
    )
    assert failed.verdict is Verdict.DEGRADED and len(failed.drift) == 1


def test_many_drifted_paths_are_summarised() -> None:
    rendered = {"metadata": {"labels": {f"l{i}": "x" for i in range(5)}}}
    result = endpoint_status(
        EndpointTarget("llama3-8b", ISVC, rendered), Lookup(CASES["ready and up to date"].obj)
    )
    assert result.reason.endswith(
        "metadata.labels.l0, metadata.labels.l1, metadata.labels.l2 and 2 more"
    )


def test_malformed_status_is_progressing_not_a_crash() -> None:
    obj: dict[str, Any] = {
        "metadata": {"generation": "two"},
        "status": {"conditions": "none", "modelStatus": 3},
    }
    result = endpoint_status(NO_RENDERED_FIELDS, Lookup(obj))
    assert result.verdict is Verdict.PROGRESSING
    assert result.generation is None


JOB = TrainingJobTarget("sft", ObjectRef("batch/v1", "Job", "llm-ops-dev", "sft-0a1b2c3d"))


def test_job_retrying_after_a_failed_pod_is_progressing() -> None:
    obj = {"status": {"active": 1, "failed": 1, "startTime": live.T1}}
    result = training_job_status(JOB, Lookup(obj))
    assert (result.verdict, result.state, result.reason) == (
        Verdict.PROGRESSING,
        "Running",
        "1 running, 1 failed attempt(s) so far",
    )


def test_job_failure_target_is_already_a_failure() -> None:
    obj = {
        "status": {
            "active": 1,
            "conditions": [
                live.job_condition(
                    "FailureTarget",
                    "DeadlineExceeded",
                    "Job was active longer than specified deadline",
                )
            ],
        }
    }
    result = training_job_status(JOB, Lookup(obj))
    assert (result.verdict, result.state) == (Verdict.DEGRADED, "Failed")
    assert result.reason == "DeadlineExceeded: Job was active longer than specified deadline"


def test_job_without_status_is_pending() -> None:
    result = training_job_status(JOB, Lookup({"spec": {}}))
    assert (result.verdict, result.state, result.reason) == (
        Verdict.PROGRESSING,
        "Pending",
        "waiting for the controller to report status",
    )


APP = ObjectRef("argoproj.io/v1alpha1", "Application", "argocd", "llmops-dev")


def app(sync: str, health: str, phase: str | None = None, message: str = "") -> dict[str, Any]:
    status: dict[str, Any] = {
        "sync": {"status": sync, "revision": live.REVISION},
        "health": {"status": health},
    }
    if phase:
        status["operationState"] = {"phase": phase, "message": message}
    return {"status": status}


@pytest.mark.parametrize(
    ("obj", "verdict", "reason"),
    [
        (app("Synced", "Healthy", "Succeeded"), Verdict.HEALTHY, "synced and healthy"),
        (
            app("Synced", "Healthy", "Running", "waiting for completion of hook batch/Job/migrate"),
            Verdict.PROGRESSING,
            "sync operation Running: waiting for completion of hook batch/Job/migrate",
        ),
        (app("OutOfSync", "Healthy"), Verdict.PROGRESSING, "sync OutOfSync"),
        (app("Synced", "Suspended"), Verdict.PROGRESSING, "health Suspended"),
        (app("OutOfSync", "Missing"), Verdict.DEGRADED, "health Missing"),
        (
            app("OutOfSync", "Missing", "Running"),
            Verdict.PROGRESSING,
            "sync OutOfSync; health Missing; sync operation Running",
        ),
        (
            app("Synced", "Healthy", "Error", "rpc error: code = Unknown"),
            Verdict.DEGRADED,
            "sync Error: rpc error: code = Unknown",
        ),
        ({}, Verdict.PROGRESSING, "sync Unknown; health Unknown"),
    ],
)
def test_application_verdicts(obj: dict[str, Any], verdict: Verdict, reason: str) -> None:
    result = application_status(APP, Lookup(obj))
    assert (result.verdict, result.reason) == (verdict, reason)
