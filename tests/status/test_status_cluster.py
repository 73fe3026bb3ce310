"""`llmops status` end to end: the real `kubernetes` client reading a Kubernetes API stand-in on
127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import live_objects as live
from tests.helpers.estate import CliResult, run_cli, write_files
from tests.helpers.kube_api import KubeApiServer, path_of
from tests.status.conftest import Rendered, deploy_healthy

pytestmark = pytest.mark.slow  # starts a server (in a thread; each test takes milliseconds)


def status_json(estate: Path, kubeconfig: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = run_cli("status", str(estate), "--kubeconfig", str(kubeconfig), "-o", "json", *extra)
    assert result.stderr == ""
    return result.exit_code, json.loads(result.stdout)


def endpoint(report: dict[str, Any], env: str) -> dict[str, Any]:
    (found,) = [
        e
        for environment in report["environments"]
        if environment["name"] == env
        for e in environment["endpoints"]
    ]
    return found


def environment(report: dict[str, Any], env: str) -> dict[str, Any]:
    (found,) = [e for e in report["environments"] if e["name"] == env]
    return found


def test_reads_the_exact_api_paths_with_the_kubeconfig_token(
    estate: Path, rendered: Rendered, cluster: KubeApiServer, kubeconfig: Path
) -> None:
    deploy_healthy(cluster, rendered)
    code, report = status_json(estate, kubeconfig)
    assert code == 0
    assert report["summary"] == {
        "verdicts": {"Healthy": 7, "Progressing": 0, "Degraded": 0, "Missing": 0},
        "failing": False,
    }
    job_name = rendered.one("Job", "dev")["metadata"]["name"]
    assert sorted(path for path, _ in cluster.requests) == sorted(
        [
            "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/llmops-dev",
            "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/llmops-prod",
            "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/llmops-stg",
            "/apis/serving.kserve.io/v1beta1/namespaces/llm-ops-dev/inferenceservices/example-model",
            "/apis/serving.kserve.io/v1beta1/namespaces/llm-ops-prod/inferenceservices/example-model",
            "/apis/serving.kserve.io/v1beta1/namespaces/llm-ops-stg/inferenceservices/example-model",
            f"/apis/batch/v1/namespaces/llm-ops-dev/jobs/{job_name}",
        ]
    )
    assert {auth for _, auth in cluster.requests} == {f"Bearer {cluster.token}"}


def test_healthy_endpoint_reports_conditions_generation_and_url(
    estate: Path, rendered: Rendered, cluster: KubeApiServer, kubeconfig: Path
) -> None:
    deploy_healthy(cluster, rendered)
    cluster.put(live.ready_isvc(rendered.one("InferenceService", "dev"), generation=4))
    code, report = status_json(estate, kubeconfig, "--env", "dev")
    assert code == 0
    dev = endpoint(report, "dev")
    assert (dev["verdict"], dev["reason"], dev["drift"]) == ("Healthy", "ready", [])
    assert (dev["generation"], dev["observedGeneration"]) == (4, 4)
    assert dev["url"] == "http://example-model-llm-ops-dev.example.com"
    assert dev["conditions"]["Ready"] == {
        "type": "Ready",
        "status": "True",
        "reason": None,
        "message": None,
        "lastTransitionTime": live.T1,
        "severity": None,
    }
    assert dev["conditions"]["Stopped"]["status"] == "False"
    assert dev["stopped"] is False
    assert [env["name"] for env in report["environments"]] == ["dev"]


def test_generation_ahead_of_the_status_is_progressing(
    estate: Path, rendered: Rendered, cluster: KubeApiServer, kubeconfig: Path
) -> None:
    deploy_healthy(cluster, rendered)
    cluster.put(
        live.ready_isvc(
            rendered.one("InferenceService", "stg"), generation=3, observed_generation=2
        )
    )
    code, report = status_json(estate, kubeconfig)
    stg = endpoint(report, "stg")
    assert stg["verdict"] == "Progressing"
    assert "generation 3" in stg["reason"] and "generation 2" in stg["reason"]
    assert (stg["generation"], stg["observedGeneration"]) == (3, 2)
    assert code == 0, "Progressing alone is not a failure"


def test_failed_rollout_is_degraded_with_its_reason(
    estate: Path, rendered: Rendered, cluster: KubeApiServer, kubeconfig: Path
) -> None:
    deploy_healthy(cluster, rendered)
    cluster.put(live.failing_isvc(rendered.one("InferenceService", "prod")))
    result = run_cli("status", str(estate), "--kubeconfig", str(kubeconfig))
    assert result.exit_code == 1
    assert (
        "prod endpoint example-model: Degraded: PredictorReady: ProgressDeadlineExceeded: "
        f"{live.DEADLINE}"
    ) in result.stdout.splitlines()
    row = next(
        line
        for line in result.stdout.splitlines()
        if line.startswith("prod ") and "example-model" in line
    )
    assert row.split()[:6] == ["prod", "example-model", "Degraded", "False", "False", "False"]


def test_missing_objects_are_missing_and_fail(
    estate: Path, rendered: Rendered, cluster: KubeApiServer, kubeconfig: Path
) -> None:
    deploy_healthy(cluster, rendered)
    cluster.remove(rendered.one("InferenceService", "dev"))
    cluster.remove(rendered.one("Job", "dev"))
    code, report = status_json(estate, kubeconfig, "--env", "dev")
    assert code == 1
    dev = endpoint(report, "dev")
    assert (dev["verdict"], dev["found"]) == ("Missing", False)
    assert dev["reason"] == "InferenceService llm-ops-dev/example-model not found"
    (job,) = environment(report, "dev")["trainingJobs"]
    assert (job["verdict"], job["state"], job["found"]) == ("Missing", "Missing", False)
    assert report["summary"]["failing"] is True


def test_stopped_endpoint_is_degraded_and_says_stopped(
    estate: Path, rendered: Rendered, cluster: KubeApiServer, kubeconfig: Path
) -> None:
    deploy_healthy(cluster, rendered)
    cluster.put(live.stopped_isvc(rendered.one("InferenceService", "dev")))
    code, report = status_json(estate, kubeconfig, "--env", "dev")
    dev = endpoint(report, "dev")
    assert code == 1
    assert dev["stopped"] is True
    assert dev["conditions"]["Stopped"]["status"] == "True"
    assert (dev["verdict"], dev["reason"]) == (
        "Degraded",
        "stopped (annotation serving.kserve.io/stop)",
    )
    # The stop annotation is not ours: drift compares only what the revision renders.
    assert dev["drift"] == []


def test_live_replica_change_is_drift(
    estate: Path, rendered: Rendered, cluster: KubeApiServer, kubeconfig: Path
) -> None:
    deploy_healthy(cluster, rendered)
    changed = live.ready_isvc(rendered.one("InferenceService", "stg"), generation=2)
    changed["spec"]["predictor"]["minReplicas"] = 3
    changed["metadata"]["labels"]["llmops.io/model"] = "another-model"
    cluster.put(changed)
    code, report = status_json(estate, kubeconfig)
    stg = endpoint(report, "stg")
    assert stg["drift"] == [
        {
            "path": 'metadata.labels["llmops.io/model"]',
            "rendered": "example-base-model",
            "live": "another-model",
            "inLive": True,
        },
        {"path": "spec.predictor.minReplicas", "rendered": 1, "live": 3, "inLive": True},
    ]
    assert stg["verdict"] == "Progressing"
    assert "spec.predictor.minReplicas" in stg["reason"]
    assert endpoint(report, "dev")["drift"] == [], (
        "server-set fields and Argo CD's annotation are not drift"
    )
    assert code == 0
    table = run_cli("status", str(estate), "--kubeconfig", str(kubeconfig), "--env", "stg").stdout
    assert "  drift spec.predictor.minReplicas: rendered 1, live 3" in table.splitlines()
    assert (
        '  drift metadata.labels["llmops.io/model"]: rendered "example-base-model", live '
        '"another-model"' in table
    )


def test_a_field_removed_live_is_drift(
    estate: Path, rendered: Rendered, cluster: KubeApiServer, kubeconfig: Path
) -> None:
    deploy_healthy(cluster, rendered)
    changed = live.ready_isvc(rendered.one("InferenceService", "dev"))
    del changed["spec"]["predictor"]["model"]["startupProbe"]
    cluster.put(changed)
    _, report = status_json(estate, kubeconfig, "--env", "dev")
    (difference,) = endpoint(report, "dev")["drift"]
    assert (difference["path"], difference["live"], difference["inLive"]) == (
        "spec.predictor.model.startupProbe",
        None,
        False,
    )


@pytest.mark.parametrize(
    ("state", "verdict", "counts", "reason"),
    [
        ("running", "Progressing", (1, 0, 0), "1 running"),
        ("succeeded", "Healthy", (0, 1, 0), f"completed at {live.T2}"),
        (
            "failed",
            "Degraded",
            (0, 0, 3),
            "BackoffLimitExceeded: Job has reached the specified backoff limit",
        ),
        ("suspended", "Progressing", (0, 0, 0), "suspended (waiting to be admitted)"),
    ],
)
def test_training_job_states(
    estate: Path,
    rendered: Rendered,
    cluster: KubeApiServer,
    kubeconfig: Path,
    state: str,
    verdict: str,
    counts: tuple[int, int, int],
    reason: str,
) -> None:
    deploy_healthy(cluster, rendered)
    cluster.put(live.job(rendered.one("Job", "dev"), state))
    code, report = status_json(estate, kubeconfig, "--env", "dev")
    (job,) = environment(report, "dev")["trainingJobs"]
    assert (job["verdict"], job["reason"]) == (verdict, reason)
    assert (job["active"], job["succeeded"], job["failed"]) == counts
    assert job["object"]["kind"] == "Job"
    assert code == (1 if verdict == "Degraded" else 0)


def test_trainjob_backend_reads_the_kubeflow_trainjob(
    estate: Path, cluster: KubeApiServer, kubeconfig: Path
) -> None:
    settings = yaml.safe_load(
        (estate / "environments/dev/environment.yaml").read_text(encoding="utf-8")
    )
    settings["spec"]["training"] = {"backend": "trainjob"}
    write_files(estate, {"environments/dev/environment.yaml": yaml.safe_dump(settings)})
    rendered = Rendered(estate)
    trainjob = rendered.one("TrainJob", "dev")
    cluster.put(live.ready_isvc(rendered.one("InferenceService", "dev")))
    cluster.put(live.application(rendered.one("Application", "dev")))
    path = cluster.put(live.train_job(trainjob, "running"), live.train_job(trainjob, "failed"))
    assert path.startswith(
        "/apis/trainer.kubeflow.org/v1alpha1/namespaces/llm-ops-dev/trainjobs/customer-support-sft-"
    )
    code, report = status_json(estate, kubeconfig, "--env", "dev")
    (job,) = environment(report, "dev")["trainingJobs"]
    assert (code, job["verdict"], job["state"], job["active"]) == (0, "Progressing", "Running", 2)
    code, report = status_json(estate, kubeconfig, "--env", "dev")
    (job,) = environment(report, "dev")["trainingJobs"]
    assert (code, job["verdict"], job["state"], job["failed"]) == (1, "Degraded", "Failed", 1)
    assert job["reason"] == 'JobsFailed: jobset failed: job "node-0" failed'


@pytest.mark.parametrize(
    ("fields", "verdict", "reason"),
    [
        ({}, "Healthy", "synced and healthy"),
        (
            {
                "sync": "OutOfSync",
                "health": "Progressing",
                "phase": "Running",
                "message": "waiting for healthy state of "
                "serving.kserve.io/InferenceService/example-model",
            },
            "Progressing",
            "sync OutOfSync; health Progressing; sync operation Running: waiting for healthy "
            "state of serving.kserve.io/InferenceService/example-model",
        ),
        (
            {
                "health": "Degraded",
                "phase": "Failed",
                "message": "one or more synchronization tasks completed unsuccessfully",
            },
            "Degraded",
            "health Degraded; sync Failed: one or more synchronization tasks completed "
            "unsuccessfully",
        ),
    ],
)
def test_argocd_application_sync_and_health(
    estate: Path,
    rendered: Rendered,
    cluster: KubeApiServer,
    kubeconfig: Path,
    fields: dict[str, str],
    verdict: str,
    reason: str,
) -> None:
    deploy_healthy(cluster, rendered)
    cluster.put(live.application(rendered.one("Application", "dev"), **fields))
    code, report = status_json(estate, kubeconfig, "--env", "dev")
    app = environment(report, "dev")["application"]
    assert (app["verdict"], app["reason"]) == (verdict, reason)
    assert app["revision"] == live.REVISION
    assert app["object"] == {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "namespace": "argocd",
        "name": "llmops-dev",
    }
    assert code == (1 if verdict == "Degraded" else 0)


def test_argocd_comparison_error_is_degraded(
    estate: Path, rendered: Rendered, cluster: KubeApiServer, kubeconfig: Path
) -> None:
    deploy_healthy(cluster, rendered)
    app = live.application(rendered.one("Application", "dev"), sync="Unknown", health="Healthy")
    app["status"]["conditions"] = [
        {
            "type": "ComparisonError",
            "lastTransitionTime": live.T2,
            "message": "Failed to load target state: plugin llmops exited with 1",
        }
    ]
    cluster.put(app)
    code, report = status_json(estate, kubeconfig, "--env", "dev")
    assert code == 1
    assert environment(report, "dev")["application"]["reason"] == (
        "ComparisonError: Failed to load target state: plugin llmops exited with 1"
    )


def test_argocd_not_installed_is_missing_with_a_hint(
    estate: Path, rendered: Rendered, cluster: KubeApiServer, kubeconfig: Path
) -> None:
    deploy_healthy(cluster, rendered)
    cluster.unserved_groups.add("argoproj.io")
    code, report = status_json(estate, kubeconfig, "--env", "dev")
    app = environment(report, "dev")["application"]
    assert code == 1
    assert app["verdict"] == "Missing"
    assert app["reason"] == (
        "Application argocd/llmops-dev not found: the cluster does not serve "
        "applications.argoproj.io/v1alpha1 (is Argo CD installed?)"
    )


def test_environment_without_argocd_has_no_application(
    estate: Path, rendered: Rendered, cluster: KubeApiServer, kubeconfig: Path
) -> None:
    settings = yaml.safe_load(
        (estate / "environments/prod/environment.yaml").read_text(encoding="utf-8")
    )
    del settings["spec"]["argocd"]
    write_files(estate, {"environments/prod/environment.yaml": yaml.safe_dump(settings)})
    deploy_healthy(cluster, rendered)
    code, report = status_json(estate, kubeconfig, "--env", "prod")
    assert (code, environment(report, "prod")["application"]) == (0, None)
    assert not any("applications" in path for path, _ in cluster.requests)
    table = run_cli("status", str(estate), "--kubeconfig", str(kubeconfig), "--env", "prod").stdout
    assert "(none: no argocd.repoURL)" in table


def test_object_paths_follow_the_rendered_names(rendered: Rendered) -> None:
    """The stand-in files objects where kube-apiserver serves them (a check of the test server
    itself)."""
    assert path_of(rendered.one("InferenceService", "prod")) == (
        "/apis/serving.kserve.io/v1beta1/namespaces/llm-ops-prod/inferenceservices/example-model"
    )
    assert path_of(rendered.one("Application", "stg")) == (
        "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/llmops-stg"
    )


def _cli(estate: Path, kubeconfig: Path, *extra: str) -> CliResult:
    return run_cli("status", str(estate), "--kubeconfig", str(kubeconfig), *extra)


def test_invalid_estate_is_a_usage_error_and_reads_nothing(
    estate: Path, cluster: KubeApiServer, kubeconfig: Path
) -> None:
    path = estate / "environments/dev/serving/example-model.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("minReplicas", "minReplica"), encoding="utf-8"
    )
    result = _cli(estate, kubeconfig)
    assert result.exit_code == 2
    assert (
        "S001" in result.stderr
        and "status compares the cluster with what a valid revision renders" in result.stderr
    )
    assert result.stdout == ""
    assert cluster.requests == []
