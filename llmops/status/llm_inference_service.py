"""Verdicts for LLMInferenceServices, in the order of deploy/argocd/health/llminferenceservice.lua
(so `llmops status` and Argo CD agree; a test runs both on the same objects):
  1. not found -> Missing
  2. no status yet -> Progressing
  3. condition Stopped=True -> Degraded ("stopped": the revision renders a serving endpoint)
  4. a condition False whose reason names a failure -> Degraded, the sub-condition that failed
     (MainWorkloadReady, HTTPRoutesReady, ...) named before the summaries that repeat it
     (WorkloadsReady, RouterReady, Ready)
  5. status.observedGeneration < metadata.generation -> Progressing
  6. Ready and every other condition True -> Healthy, unless it drifted from the current revision
     -> Progressing
  7. anything else -> Progressing, listing what is not True, sub-conditions first
Conditions of severity Info or Warning do not gate readiness (Knative's condition sets) and are
left out.
"""

from __future__ import annotations

from llmops.status.model import Condition, EndpointStatus, Lookup
from llmops.status.targets import EndpointTarget
from llmops.status.verdict import EndpointRules, explain, is_failure_reason, read_endpoint

SUMMARIES = ("Ready", "WorkloadsReady", "RouterReady")
# The conditions `llmops status` shows for an LLMInferenceService (JSON `conditions`).
LLM_ENDPOINT_CONDITIONS = (*SUMMARIES, "Stopped")


def gating(conditions: list[Condition]) -> list[Condition]:
    """The conditions that decide readiness, sub-conditions first, each group in written order."""
    relevant = [c for c in conditions if c.type != "Stopped" and (c.severity or "Error") == "Error"]
    return [c for c in relevant if c.type not in SUMMARIES] + [
        c for c in relevant if c.type in SUMMARIES
    ]


def _failures(conditions: list[Condition]) -> list[str]:
    failures, reported = [], set()
    for condition in gating(conditions):
        if condition.status == "False" and is_failure_reason(condition.reason):
            detail = explain(condition.reason, condition.message)
            if detail not in reported:
                reported.add(detail)
                failures.append(f"{condition.type}: {detail}")
    return failures


def _not_ready(conditions: list[Condition]) -> list[str]:
    pending, explained = [], set()
    ordered = gating(conditions)
    for condition in ordered:
        if condition.status == "True":
            continue
        line = f"{condition.type}={condition.status}"
        detail = explain(condition.reason, condition.message)
        if detail and detail not in explained:
            explained.add(detail)
            line += f" ({detail})"
        pending.append(line)
    if not pending and not any(c.type == "Ready" and c.status == "True" for c in ordered):
        pending.append("no Ready condition yet")
    return pending


LLM_INFERENCE_SERVICE_RULES = EndpointRules(
    controller="the LLMInferenceService controller",
    stop_hint="",
    failures=lambda _status, conditions: _failures(conditions),
    not_ready=lambda _status, conditions: _not_ready(conditions),
)


def llm_endpoint_status(target: EndpointTarget, lookup: Lookup) -> EndpointStatus:
    return read_endpoint(target, lookup, LLM_ENDPOINT_CONDITIONS, LLM_INFERENCE_SERVICE_RULES)
