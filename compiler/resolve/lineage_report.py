"""`llmops lineage MODEL` and the lineage section of `llmops explain`: dataset -> job -> model ->
endpoint, as a JSON-ready mapping and as text. Pure: the CLI only prints."""

from __future__ import annotations

from typing import Any

from compiler.diagnostics import Category, Diagnostic
from compiler.printable import escape_controls
from compiler.resolve.approvals import approval_state
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.lineage import (
    Lineage,
    ancestry,
    endpoints_serving,
    job_output_uri,
    jobs_producing,
    training_job,
)
from compiler.resolve.manifest import Manifest
from compiler.spec.model import ModelSpec
from compiler.spec.serving import ServingEndpointSpec


def _place(manifest: Manifest) -> dict[str, Any]:
    span = manifest.document.span_of(())
    return {"file": span.file, "line": span.line}


def _model(manifest: Manifest[ModelSpec]) -> dict[str, Any]:
    return {
        "id": f"{manifest.name}@{manifest.version}",
        "type": manifest.spec.type,
        "storageUri": str(manifest.spec.storage_uri),
        "family": manifest.spec.metadata.model_family,
        **_place(manifest),
    }


def _step(env: ResolvedEnvironment, step: Lineage) -> dict[str, Any]:
    out: dict[str, Any] = {"model": _model(step.model), "base": None, "job": None, "dataset": None}
    if step.base is not None:
        out["base"] = f"{step.base.name}@{step.base.version}"
    elif step.model.spec.base_model is not None:
        out["base"] = step.model.spec.base_model  # written, but it names nothing (M001)
    if step.model.spec.trained_by is not None:
        job_env, job = training_job(env, step.model.spec.trained_by)
        out["job"] = {"name": step.model.spec.trained_by, "found": job is not None}
        if job_env is not None and job is not None:
            train = job.spec.train_job_spec
            out["job"].update(
                name=job.name,
                environment=job_env.name,
                jobType=job.spec.job_type,
                method=train.job_type if train else None,
                finetuningType=train.finetuning_type if train else None,
                model=job.spec.model_id,
                writesTo=job_output_uri(job_env, job),
                **_place(job),
            )
    if step.dataset is not None:
        out["dataset"] = {
            "id": f"{step.dataset.name}@{step.dataset.version}",
            "type": step.dataset.spec.type,
            "storageUri": str(step.dataset.spec.storage_uri),
            **_place(step.dataset),
        }
    return out


def _served_as(
    env: ResolvedEnvironment, endpoint: Manifest[ServingEndpointSpec], model: Manifest[ModelSpec]
) -> str:
    if env.resolve_model(endpoint.spec.model_id).manifest is model:
        return "model"
    return "adapter"


def lineage_report(
    env: ResolvedEnvironment, model: Manifest[ModelSpec], diagnostics: list[Diagnostic]
) -> dict[str, Any]:
    """The model's ancestry (oldest first), the jobs naming it as their output, the endpoints
    serving it, its approvals here, and the lineage problems validation found on these
    manifests."""
    chain = ancestry(env, model)
    state = approval_state(env, model)
    files = {step.model.file for step in chain} | {s.job.file for s in chain if s.job is not None}
    return {
        "model": f"{model.name}@{model.version}",
        "environment": env.name,
        "ancestry": [_step(env, step) for step in reversed(chain)],
        "producedBy": [job.name for job in jobs_producing(env, model)],
        "servedBy": [
            {"endpoint": endpoint.name, "as": _served_as(env, endpoint, model), **_place(endpoint)}
            for endpoint in endpoints_serving(env, model)
        ],
        "approval": {
            "approved": state.approved,
            "approvers": list(state.valid_approvers),
            "needed": state.needed,
            "problems": list(state.problems),
            "coversJob": model.spec.trained_by is not None and chain[0].job is not None,
        },
        "problems": [
            {
                "code": d.code,
                "message": d.message,
                "file": d.span.file,
                "line": d.span.line,
            }
            for d in diagnostics
            if d.rule is not None and d.rule.category is Category.LINEAGE and d.span.file in files
        ],
    }


def format_lineage_text(report: dict[str, Any]) -> str:
    """Dataset -> job -> model, for every generation, then the endpoints and the approval."""
    lines = [f"lineage of Model/{report['model']} in {report['environment']}"]
    for step in report["ancestry"]:
        model, job, dataset = step["model"], step["job"], step["dataset"]
        if dataset is not None:
            lines.append(
                f"  dataset   {dataset['id']} ({dataset['type']}) {dataset['storageUri']}"
                f"  {dataset['file']}:{dataset['line']}"
            )
        if job is not None and job["found"]:
            method = ", ".join(
                part for part in (job["method"], job["finetuningType"]) if part is not None
            )
            lines.append(
                f"  job       {job['environment']}/{job['name']} ({method or job['jobType']}) "
                f"trains {job['model']}, writes {job['writesTo']}  {job['file']}:{job['line']}"
            )
        elif job is not None:
            lines.append(f"  job       {job['name']} (not found)")
        base = f" on {step['base']}" if step["base"] else ""
        lines.append(
            f"  model     {model['id']} ({model['type']}{base}) {model['storageUri']}"
            f"  {model['file']}:{model['line']}"
        )
    for served in report["servedBy"]:
        lines.append(
            f"  endpoint  {served['endpoint']} (serves it as {served['as']})"
            f"  {served['file']}:{served['line']}"
        )
    if not report["servedBy"]:
        lines.append("  endpoint  none serves it here")
    approval = report["approval"]
    who = ", ".join(approval["approvers"]) or "nobody"
    verdict = "approved" if approval["approved"] else "not approved"
    covers = ""
    if approval["coversJob"]:  # what an approval of it covers, or would
        covers = (
            "; the approval covers the job and the dataset"
            if approval["approvers"]
            else "; an approval covers the job and the dataset too"
        )
    lines.append(
        f"  approval  {verdict}: {who} ({len(approval['approvers'])} of {approval['needed']} "
        f"needed){covers}"
    )
    lines += [f"    {problem}" for problem in approval["problems"]]
    for problem in report["problems"]:
        where = f"{problem['file']}:{problem['line']}"
        lines.append(f"  problem   {problem['code']} {problem['message']}  {where}")
    # one line each: a newline in a value or a file's name is shown as an escape, never starts
    # a line of its own
    return "\n".join(escape_controls(line) for line in lines) + "\n"
