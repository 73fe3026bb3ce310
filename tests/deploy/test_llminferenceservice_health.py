"""The Argo CD health check for KServe LLMInferenceServices
(deploy/argocd/health/llminferenceservice.lua) and `llmops status`'s verdict on the same objects.

Each case is an LLMInferenceService as KServe's controller writes it: Knative-style conditions where
`Ready` summarises `WorkloadsReady` and `RouterReady`, each summary repeating the reason and message
of the sub-condition that made it False.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from llmops.status.llm_inference_service import llm_endpoint_status
from llmops.status.model import Lookup, ObjectRef, Verdict
from llmops.status.targets import EndpointTarget
from llmops.status.verdict import FAILURE_REASONS, FAILURE_WORDS
from tests.deploy.argocd_lua import run_health_check
from tests.deploy.embedded import EMBEDDED
from tests.helpers.estate import PROJECT_ROOT
from tests.helpers.live_objects import T0, condition

SCRIPT_PATH = PROJECT_ROOT / "deploy" / "argocd" / "health" / "llminferenceservice.lua"
CONFIGMAP_PATH = PROJECT_ROOT / "deploy" / "argocd" / "argocd-cm-health-llminferenceservice.yaml"
HEALTH_KEY = "resource.customizations.health.serving.kserve.io_LLMInferenceService"
OPEN_LIBS_KEY = "resource.customizations.useOpenLibs.serving.kserve.io_LLMInferenceService"
SCRIPT = SCRIPT_PATH.read_text(encoding="utf-8")
REF = ObjectRef("serving.kserve.io/v1alpha2", "LLMInferenceService", "llm-ops-dev", "support-chat")
TARGET = EndpointTarget("support-chat", REF, {"metadata": {}})
LUA_TO_VERDICT = {
    "Healthy": Verdict.HEALTHY,
    "Progressing": Verdict.PROGRESSING,
    "Degraded": Verdict.DEGRADED,
    "Suspended": Verdict.DEGRADED,  # the revision says serve: a stopped endpoint is not serving
}
URL = "http://kserve-ingress-gateway-istio.kserve.svc.cluster.local/llm-ops-dev/support-chat"


def llmisvc(
    conditions: list[dict[str, Any]] | None, *, generation: int = 1, observed: int = 1
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "serving.kserve.io/v1alpha2",
        "kind": "LLMInferenceService",
        "metadata": {
            "name": "support-chat",
            "namespace": "llm-ops-dev",
            "generation": generation,
            "creationTimestamp": T0,
        },
        "spec": {"model": {"uri": "s3://models/support-base/3.1/", "name": "support-chat"}},
    }
    if conditions is not None:
        obj["status"] = {
            "observedGeneration": observed,
            "conditions": conditions,
            "url": URL,
            "addresses": [{"url": URL}],
        }
    return obj


def all_true() -> list[dict[str, Any]]:
    return [
        condition("GatewaysReady", "True"),
        condition("HTTPRoutesReady", "True"),
        condition("InferencePoolReady", "True"),
        condition("MainWorkloadReady", "True"),
        condition("PresetsCombined", "True"),
        condition("Ready", "True"),
        condition("RouterReady", "True"),
        condition("SchedulerWorkloadReady", "True"),
        condition("WorkloadsReady", "True"),
    ]


def replaced(changes: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [changes.get(c["type"], c) for c in all_true()]


CRASHING = "back-off 5m0s restarting failed container=main"
NO_GATEWAY = 'Gateway "kserve/kserve-ingress-gateway" not found'


@dataclass(frozen=True)
class Case:
    obj: dict[str, Any]
    lua: str  # Argo CD's status
    message: str  # what both say, Argo CD's wording


CASES = {
    "no status yet": Case(
        llmisvc(None),
        "Progressing",
        "Waiting for the LLMInferenceService controller to report status",
    ),
    "ready": Case(llmisvc(all_true()), "Healthy", "LLMInferenceService is ready"),
    "main workload crashing, named before its summaries": Case(
        llmisvc(
            replaced(
                {
                    name: condition(name, "False", "CrashLoopBackOff", CRASHING)
                    for name in ("MainWorkloadReady", "WorkloadsReady", "Ready")
                }
            )
        ),
        "Degraded",
        f"MainWorkloadReady: CrashLoopBackOff: {CRASHING}",
    ),
    "router failing: the missing Gateway": Case(
        llmisvc(
            replaced(
                {
                    name: condition(name, "False", "GatewayFetchError", NO_GATEWAY)
                    for name in ("GatewaysReady", "RouterReady", "Ready")
                }
            )
        ),
        "Degraded",
        f"GatewaysReady: GatewayFetchError: {NO_GATEWAY}",
    ),
    "workload rolling out": Case(
        llmisvc(
            replaced(
                {
                    name: condition(name, "False", "MinimumReplicasUnavailable", "1 of 2 ready")
                    for name in ("MainWorkloadReady", "WorkloadsReady", "Ready")
                }
            )
        ),
        "Progressing",
        "Not ready: MainWorkloadReady=False (MinimumReplicasUnavailable: 1 of 2 ready), "
        "Ready=False, WorkloadsReady=False",
    ),
    "status older than the spec": Case(
        llmisvc(all_true(), generation=3, observed=2),
        "Progressing",
        "Waiting for the controller to observe generation 3 (status.observedGeneration is 2)",
    ),
    "a failing Info condition does not gate readiness": Case(
        llmisvc(
            [*all_true(), condition("CachingReady", "False", "FetchFailed", "", severity="Info")]
        ),
        "Healthy",
        "LLMInferenceService is ready",
    ),
    "stopped": Case(
        llmisvc(
            [
                *replaced({"Ready": condition("Ready", "False", "Stopped", "")}),
                condition("Stopped", "True", "Stopped", "serving.kserve.io/stop is true"),
            ]
        ),
        "Suspended",
        "LLMInferenceService is stopped: Stopped: serving.kserve.io/stop is true",
    ),
}


def _configmap() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(CONFIGMAP_PATH.read_text(encoding="utf-8"))
    return loaded


OPEN_LIBS = _configmap()["data"].get(OPEN_LIBS_KEY) == "true"


@pytest.mark.parametrize("name", list(CASES))
def test_argocd_health(name: str) -> None:
    case = CASES[name]
    result = run_health_check(SCRIPT, copy.deepcopy(case.obj), open_libs=OPEN_LIBS)
    assert result == {"status": case.lua, "message": case.message}


@pytest.mark.parametrize("name", list(CASES))
def test_llmops_status_agrees_with_argocd(name: str) -> None:
    case = CASES[name]
    result = llm_endpoint_status(TARGET, Lookup(copy.deepcopy(case.obj)))
    assert result.verdict is LUA_TO_VERDICT[case.lua]
    if case.lua == "Degraded":
        assert result.reason == case.message  # the failing sub-condition first, as Argo CD says
    if "status" in case.obj:
        assert result.url == URL


def test_status_shows_the_summaries() -> None:
    result = llm_endpoint_status(TARGET, Lookup(CASES["router failing: the missing Gateway"].obj))
    shown = {name: c.status if c else None for name, c in result.conditions.items()}
    assert shown == {
        "Ready": "False",
        "WorkloadsReady": "True",
        "RouterReady": "False",
        "Stopped": None,
    }


def test_without_the_string_library_exact_reasons_still_fail() -> None:
    result = run_health_check(
        SCRIPT, CASES["main workload crashing, named before its summaries"].obj, open_libs=False
    )
    assert result["status"] == "Degraded"


def _lua_table(name: str) -> set[str]:
    body = re.search(rf"local {name} = \{{(.*?)\}}", SCRIPT, re.S)
    assert body is not None
    return set(re.findall(r'"([A-Za-z]+)"', body.group(1))) | set(
        re.findall(r"(\w+) = true", body.group(1))
    )


def test_failure_reasons_and_words_are_the_status_command_s() -> None:
    assert _lua_table("FAILURE_REASONS") == set(FAILURE_REASONS)
    assert _lua_table("FAILURE_WORDS") == set(FAILURE_WORDS)


def test_configmap_holds_the_script_verbatim() -> None:
    configmap = _configmap()
    assert configmap["metadata"]["name"] == "argocd-cm"
    assert configmap["metadata"]["labels"]["app.kubernetes.io/part-of"] == "argocd"
    assert configmap["data"] == {HEALTH_KEY: SCRIPT, OPEN_LIBS_KEY: "true"}
    (embedded,) = [item for item in EMBEDDED if item.configmap == CONFIGMAP_PATH]
    assert CONFIGMAP_PATH.read_text(encoding="utf-8") == embedded.expected()
