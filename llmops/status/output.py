"""The two outputs of `llmops status`: aligned tables for people, and JSON (the documented
schema)."""

from __future__ import annotations

import json
from typing import Any

from compiler.printable import escape_controls, json_printable
from llmops.status.model import EndpointStatus, StatusReport, TrainingJobStatus, Verdict

COLOURS = {
    Verdict.HEALTHY: "32",
    Verdict.PROGRESSING: "33",
    Verdict.DEGRADED: "31",
    Verdict.MISSING: "31",
}
REVISION_SHOWN = 12  # characters of a commit hash in the table (JSON has all of it)
VALUE_SHOWN = 80  # characters of a drifted value in the table
NONE = "-"


def format_json(report: StatusReport, *, compact: bool = False) -> str:
    """One JSON document (``compact``: on one line, as `--watch` prints one per poll)."""
    if compact:
        text = json.dumps(report.to_json(), ensure_ascii=False, separators=(",", ":"))
    else:
        text = json.dumps(report.to_json(), ensure_ascii=False, indent=2)
    return json_printable(text) + "\n"


def _paint(text: str, verdict: Verdict | None, colour: bool) -> str:
    return f"\x1b[{COLOURS[verdict]}m{text}\x1b[0m" if colour and verdict is not None else text


def _table(
    headers: list[str],
    rows: list[tuple[list[str], Verdict | None]],
    verdict_column: int,
    colour: bool,
) -> list[str]:
    """Columns padded to the widest cell; the verdict cell coloured after padding, so colour never
    shifts the alignment. Cells (names and states from the cluster) have their control characters
    escaped."""
    rows = [([escape_controls(cell) for cell in cells], verdict) for cells, verdict in rows]
    widths = [
        max(len(headers[i]), *(len(cells[i]) for cells, _ in rows)) for i in range(len(headers))
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for cells, verdict in rows:
        padded = [cell.ljust(width) for cell, width in zip(cells, widths, strict=True)]
        padded[verdict_column] = _paint(padded[verdict_column], verdict, colour)
        lines.append("  ".join(padded).rstrip())
    return lines


def _condition(endpoint: EndpointStatus, name: str) -> str:
    condition = endpoint.conditions.get(name)
    return condition.status if condition is not None else NONE


def _generation(endpoint: EndpointStatus) -> str:
    if endpoint.generation is None:
        return NONE
    observed = endpoint.observed_generation
    if observed is None or observed == endpoint.generation:
        return str(endpoint.generation)
    return f"{endpoint.generation} (status {observed})"


def _revision(revision: str | None) -> str:
    if not revision:
        return NONE
    is_hash = len(revision) == 40 and all(c in "0123456789abcdef" for c in revision)
    return revision[:REVISION_SHOWN] if is_hash else revision


def _value(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= VALUE_SHOWN else text[: VALUE_SHOWN - 3] + "..."


def _environment_rows(report: StatusReport) -> list[tuple[list[str], Verdict | None]]:
    rows: list[tuple[list[str], Verdict | None]] = []
    for env in report.environments:
        app = env.application
        if app is None:
            rows.append(
                (
                    [
                        env.name,
                        env.namespace,
                        "(none: no argocd.repoURL)",
                        NONE,
                        NONE,
                        NONE,
                        NONE,
                        NONE,
                    ],
                    None,
                )
            )
            continue
        rows.append(
            (
                [
                    env.name,
                    env.namespace,
                    f"{app.object.namespace}/{app.object.name}",
                    str(app.verdict),
                    app.sync or NONE,
                    app.health or NONE,
                    _revision(app.revision),
                    app.operation or NONE,
                ],
                app.verdict,
            )
        )
    return rows


def _endpoint_rows(report: StatusReport) -> list[tuple[list[str], Verdict | None]]:
    return [
        (
            [
                env.name,
                e.name,
                str(e.verdict),
                _condition(e, "Ready"),
                _condition(
                    e, "PredictorReady" if "PredictorReady" in e.conditions else "WorkloadsReady"
                ),
                _condition(e, "Stopped"),
                _generation(e),
                f"{len(e.drift)} field(s)" if e.drift else NONE,
                e.url or NONE,
            ],
            e.verdict,
        )
        for env in report.environments
        for e in env.endpoints
    ]


def _job_rows(report: StatusReport) -> list[tuple[list[str], Verdict | None]]:
    return [
        (
            [
                env.name,
                j.name,
                f"{j.object.kind} {j.object.name}",
                str(j.verdict),
                j.state,
                str(j.active),
                str(j.succeeded),
                str(j.failed),
            ],
            j.verdict,
        )
        for env in report.environments
        for j in env.training_jobs
    ]


def _reasons(report: StatusReport) -> list[str]:
    """Why each row that is not Healthy is what it is; under an endpoint, each field that
    drifted."""
    lines = []
    for env in report.environments:
        if env.application is not None and env.application.verdict is not Verdict.HEALTHY:
            app = env.application
            lines.append(f"{env.name} Argo CD {app.object.name}: {app.verdict}: {app.reason}")
        items: list[EndpointStatus | TrainingJobStatus] = [*env.endpoints, *env.training_jobs]
        for item in items:
            if item.verdict is Verdict.HEALTHY:
                continue  # a drifted endpoint is never Healthy, so no drift is left out
            what = "endpoint" if isinstance(item, EndpointStatus) else "training job"
            lines.append(f"{env.name} {what} {item.name}: {item.verdict}: {item.reason}")
            for difference in item.drift if isinstance(item, EndpointStatus) else []:
                live = _value(difference.live) if difference.in_live else "(absent)"
                lines.append(
                    f"  drift {difference.path}: rendered {_value(difference.rendered)}, live "
                    f"{live}"
                )
    return [escape_controls(line) for line in lines]


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def summary_line(report: StatusReport) -> str:
    """`1 application, 1 endpoint, 1 training job: 2 Healthy, 1 Degraded`."""
    environments = report.environments
    what = [
        _plural(sum(env.application is not None for env in environments), "application"),
        _plural(sum(len(env.endpoints) for env in environments), "endpoint"),
        _plural(sum(len(env.training_jobs) for env in environments), "training job"),
    ]
    verdicts = [f"{count} {verdict}" for verdict, count in report.counts().items() if count]
    return f"{', '.join(what)}: {', '.join(verdicts) or 'nothing to report'}"


def format_table(report: StatusReport, *, colour: bool = False) -> str:
    blocks: list[list[str]] = []
    if report.environments:
        blocks.append(
            _table(
                [
                    "ENVIRONMENT",
                    "NAMESPACE",
                    "ARGO CD APPLICATION",
                    "VERDICT",
                    "SYNC",
                    "HEALTH",
                    "REVISION",
                    "LAST SYNC",
                ],
                _environment_rows(report),
                3,
                colour,
            )
        )
    endpoints = _endpoint_rows(report)
    if endpoints:
        blocks.append(
            _table(
                [
                    "ENVIRONMENT",
                    "ENDPOINT",
                    "VERDICT",
                    "READY",
                    "PREDICTOR",
                    "STOPPED",
                    "GENERATION",
                    "DRIFT",
                    "URL",
                ],
                endpoints,
                2,
                colour,
            )
        )
    jobs = _job_rows(report)
    if jobs:
        blocks.append(
            _table(
                [
                    "ENVIRONMENT",
                    "TRAINING JOB",
                    "OBJECT",
                    "VERDICT",
                    "STATE",
                    "ACTIVE",
                    "SUCCEEDED",
                    "FAILED",
                ],
                jobs,
                3,
                colour,
            )
        )
    reasons = _reasons(report)
    if reasons:
        blocks.append(reasons)
    blocks.append([summary_line(report)])
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"
