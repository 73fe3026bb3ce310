"""The outputs: JSON that keeps its documented schema, tables whose columns line up, colour only on
terminals."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from llmops.cli.status import _colour
from llmops.status.collect import collect_status
from llmops.status.model import Lookup, ObjectRef
from llmops.status.output import format_table
from llmops.status.targets import estate_targets
from tests.helpers import live_objects as live
from tests.helpers.estate import run_cli, validate, write_files
from tests.helpers.kube_api import KubeApiServer, object_path, path_of
from tests.status.conftest import Rendered

pytestmark = pytest.mark.slow  # starts a server (in a thread)

SCHEMA = json.loads(
    (Path(__file__).parent / "status-output.schema.json").read_text(encoding="utf-8")
)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def mixed(estate: Path, cluster: KubeApiServer) -> Path:
    """Every kind of row: drift, a failed job, a missing endpoint, a stopped one, an environment
    without Argo CD."""
    settings = yaml.safe_load(
        (estate / "environments/prod/environment.yaml").read_text(encoding="utf-8")
    )
    del settings["spec"]["argocd"]
    write_files(estate, {"environments/prod/environment.yaml": yaml.safe_dump(settings)})
    rendered = Rendered(estate)
    drifted = live.ready_isvc(rendered.one("InferenceService", "dev"))
    drifted["spec"]["predictor"]["maxReplicas"] = 10
    cluster.put(drifted)
    cluster.put(live.job(rendered.one("Job", "dev"), "failed"))
    cluster.put(live.application(rendered.one("Application", "dev")))
    cluster.put(
        live.application(rendered.one("Application", "stg"), sync="OutOfSync", health="Progressing")
    )
    cluster.put(live.stopped_isvc(rendered.one("InferenceService", "prod")))
    return estate


def test_json_follows_the_documented_schema(mixed: Path, kubeconfig: Path) -> None:
    result = run_cli("status", str(mixed), "--kubeconfig", str(kubeconfig), "-o", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    Draft202012Validator.check_schema(SCHEMA)
    errors = sorted(Draft202012Validator(SCHEMA).iter_errors(report), key=lambda e: list(e.path))
    assert errors == [], [f"{list(e.path)}: {e.message}" for e in errors]
    verdicts = {
        (env["name"], item["name"]): item["verdict"]
        for env in report["environments"]
        for item in [*env["endpoints"], *env["trainingJobs"]]
    }
    assert verdicts == {
        ("dev", "example-model"): "Progressing",
        ("dev", "customer-support-sft"): "Degraded",
        ("prod", "example-model"): "Degraded",
        ("stg", "example-model"): "Missing",
    }
    assert report["summary"] == {
        "verdicts": {"Healthy": 1, "Progressing": 2, "Degraded": 2, "Missing": 1},
        "failing": True,
    }
    assert [env["application"] is None for env in report["environments"]] == [False, True, False]


def test_json_is_stable(mixed: Path, kubeconfig: Path) -> None:
    """The same cluster gives the same bytes (no timestamps of our own, fixed order)."""
    first = run_cli("status", str(mixed), "--kubeconfig", str(kubeconfig), "-o", "json").stdout
    assert (
        run_cli("status", str(mixed), "--kubeconfig", str(kubeconfig), "-o", "json").stdout == first
    )


def _blocks(text: str) -> list[list[str]]:
    return [block.splitlines() for block in text.strip("\n").split("\n\n")]


def _assert_aligned(table: list[str]) -> None:
    """Every cell starts where its header starts (cells hold no double spaces)."""
    header, *rows = table
    starts = [match.start() for match in re.finditer(r"(?:^|(?<=  ))\S", header)]
    for row in rows:
        cells = [match.start() for match in re.finditer(r"(?:^|(?<=  ))\S", row)]
        assert cells == starts[: len(cells)], (header, row)


def test_table_columns_line_up_and_reasons_follow(mixed: Path, kubeconfig: Path) -> None:
    result = run_cli("status", str(mixed), "--kubeconfig", str(kubeconfig))
    assert result.exit_code == 1
    environments, endpoints, jobs, reasons, summary = _blocks(result.stdout)
    for table in (environments, endpoints, jobs):
        _assert_aligned(table)
    assert endpoints[0].split() == [
        "ENVIRONMENT",
        "ENDPOINT",
        "VERDICT",
        "READY",
        "PREDICTOR",
        "STOPPED",
        "GENERATION",
        "DRIFT",
        "URL",
    ]
    assert endpoints[1].split()[:8] == [
        "dev",
        "example-model",
        "Progressing",
        "True",
        "True",
        "False",
        "1",
        "1",
    ]
    assert endpoints[2].split()[:6] == [
        "prod",
        "example-model",
        "Degraded",
        "False",
        "False",
        "True",
    ]
    assert endpoints[3].split() == ["stg", "example-model", "Missing", "-", "-", "-", "-", "-", "-"]
    assert environments[2].startswith("prod ") and "(none: no argocd.repoURL)" in environments[2]
    assert reasons == [
        "dev endpoint example-model: Progressing: serving, but the live object differs from the "
        "current revision at spec.predictor.maxReplicas",
        "  drift spec.predictor.maxReplicas: rendered 3, live 10",
        "dev training job customer-support-sft: Degraded: BackoffLimitExceeded: Job has reached "
        "the specified backoff limit",
        "prod endpoint example-model: Degraded: stopped (annotation serving.kserve.io/stop)",
        "stg Argo CD llmops-stg: Progressing: sync OutOfSync; health Progressing",
        "stg endpoint example-model: Missing: InferenceService llm-ops-stg/example-model not found",
    ]
    assert summary == [
        "2 applications, 3 endpoints, 1 training job: 1 Healthy, 2 Progressing, 2 Degraded, "
        "1 Missing"
    ]
    assert "\x1b" not in result.stdout


def test_colour_marks_verdicts_without_moving_columns(estate: Path) -> None:
    """Through the pure side (`collect_status` with a reader over plain dicts): no cluster
    needed."""
    rendered = Rendered(estate)
    live_objects = {
        path_of(obj): obj
        for obj in (
            live.ready_isvc(rendered.one("InferenceService", "dev")),
            live.failing_isvc(rendered.one("InferenceService", "stg")),
            live.job(rendered.one("Job", "dev"), "running"),
            live.application(rendered.one("Application", "dev")),
        )
    }

    def read(ref: ObjectRef) -> Lookup:
        path = object_path(ref.api_version, ref.kind, ref.namespace, ref.name)
        return Lookup(live_objects.get(path), f"{ref} not found")

    report = collect_status(estate_targets(validate(estate).estate), read)
    coloured = format_table(report, colour=True)
    assert "\x1b[31mDegraded" in coloured and "\x1b[33mProgressing" in coloured
    assert "\x1b[32mHealthy" in coloured and "\x1b[31mMissing" in coloured
    assert ANSI.sub("", coloured) == format_table(report, colour=False)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert _colour(_Terminal()) is True
    assert _colour(io.StringIO()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert _colour(_Terminal()) is False
