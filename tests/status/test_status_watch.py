"""`llmops status --watch`: one report per poll, the last poll's exit code, Ctrl-C is exit 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import live_objects as live
from tests.helpers.estate import PROJECT_ROOT, run_cli
from tests.helpers.kube_api import KubeApiServer
from tests.helpers.signals import ctrl_c_reaches_it
from tests.status.conftest import Rendered, deploy_healthy

pytestmark = pytest.mark.slow  # starts a server (in a thread) and, once, the CLI as a process

ISVC_PATH = "/apis/serving.kserve.io/v1beta1/namespaces/llm-ops-dev/inferenceservices/example-model"


def watch(estate: Path, kubeconfig: Path, count: int, *extra: str) -> tuple[int, str, str]:
    result = run_cli(
        "status",
        str(estate),
        "--env",
        "dev",
        "--kubeconfig",
        str(kubeconfig),
        "--watch",
        "--interval",
        "0.01",
        "--watch-count",
        str(count),
        *extra,
    )
    return result.exit_code, result.stdout, result.stderr


def verdicts(stdout: str) -> list[str]:
    reports = [json.loads(line) for line in stdout.splitlines()]
    return [report["environments"][0]["endpoints"][0]["verdict"] for report in reports]


def test_watch_polls_count_times_and_sees_the_rollout_finish(
    estate: Path, rendered: Rendered, cluster: KubeApiServer, kubeconfig: Path
) -> None:
    deploy_healthy(cluster, rendered)
    isvc = rendered.one("InferenceService", "dev")
    cluster.put(
        live.ready_isvc(isvc, generation=2, observed_generation=1),
        live.ready_isvc(isvc, generation=2),
    )
    code, stdout, stderr = watch(estate, kubeconfig, 3, "-o", "json")
    assert (code, stderr) == (0, "")
    assert verdicts(stdout) == ["Progressing", "Healthy", "Healthy"], (
        "one JSON document per line, per poll"
    )
    assert cluster.gets(ISVC_PATH) == 3


def test_watch_exit_code_is_the_last_polls(
    estate: Path, rendered: Rendered, cluster: KubeApiServer, kubeconfig: Path
) -> None:
    deploy_healthy(cluster, rendered)
    isvc = rendered.one("InferenceService", "dev")
    cluster.put(live.ready_isvc(isvc), live.failing_isvc(isvc))
    code, stdout, _ = watch(estate, kubeconfig, 2, "-o", "json")
    assert (code, verdicts(stdout)) == (1, ["Healthy", "Degraded"])


def test_watch_survives_a_failed_poll_but_not_a_failed_first_poll(
    estate: Path, rendered: Rendered, cluster: KubeApiServer, kubeconfig: Path
) -> None:
    deploy_healthy(cluster, rendered)
    cluster.failing[ISVC_PATH] = [0, 503, 0]
    code, stdout, stderr = watch(estate, kubeconfig, 3, "-o", "json")
    assert (code, verdicts(stdout)) == (0, ["Healthy", "Healthy"])
    assert stderr.startswith(f"llmops: error: the cluster at {cluster.url} answered 503 ")
    assert len(stderr.splitlines()) == 1

    cluster.failing[ISVC_PATH] = [503]
    requests_before = cluster.gets(ISVC_PATH)
    code, stdout, stderr = watch(estate, kubeconfig, 3, "-o", "json")
    assert (code, stdout) == (2, "")
    assert cluster.gets(ISVC_PATH) == requests_before + 1, (
        "a broken configuration stops the watch at once"
    )


def test_watch_table_frames(
    estate: Path, rendered: Rendered, cluster: KubeApiServer, kubeconfig: Path
) -> None:
    deploy_healthy(cluster, rendered)
    code, stdout, _ = watch(estate, kubeconfig, 2)
    assert code == 0
    headers = [
        line for line in stdout.splitlines() if line.startswith("every 0.01s: llmops status  ")
    ]
    assert len(headers) == 2
    assert stdout.count("\nENVIRONMENT  ENDPOINT ") == 2
    assert "\x1b" not in stdout, "no colour and no screen clearing when stdout is not a terminal"


def test_ctrl_c_exits_130(
    estate: Path, rendered: Rendered, cluster: KubeApiServer, kubeconfig: Path
) -> None:
    deploy_healthy(cluster, rendered)
    env = {
        **os.environ,
        "NO_COLOR": "1",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])
        ),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llmops.cli.main",
            "status",
            str(estate),
            "--kubeconfig",
            str(kubeconfig),
            "--watch",
            "--interval",
            "0.2",
            "-o",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=ctrl_c_reaches_it,
    )
    try:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())
        assert first["summary"]["failing"] is False
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130
    assert stderr == "llmops: interrupted\n"
