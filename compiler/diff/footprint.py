"""What one serving endpoint is made of in one environment, and how two states of it differ.

`llmops history` asks, commit by commit, whether an endpoint changed; the answer must cover what the
endpoint depends on as well (its model version, that model's approvals, the prompt templates of its
experiments). The input is the environment's effective documents as plain data, so the question can
be asked of any revision cheaply, without validating the whole estate at every commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from compiler.diff.canary import canary_of_document, describe_canary
from compiler.diff.changes import field_changes
from compiler.spec.reference_syntax import VersionedName, dashed_form, split_at_form

# kind, name, version (None for unversioned kinds) -> the document's data
Documents = Mapping[tuple[str, str, str | None], Any]
Footprint = dict[str, Any]


def _spec(data: Any) -> dict[str, Any]:
    spec = data.get("spec") if isinstance(data, dict) else None
    return spec if isinstance(spec, dict) else {}


def resolve_model_reference(documents: Documents, reference: str) -> tuple[str, str] | None:
    """The (name, version) a `name@version` or `name-version` reference names, when exactly one
    model has it."""
    models = [
        (name, version)
        for kind, name, version in documents
        if kind == "Model" and version is not None
    ]
    at_form = split_at_form(reference)
    if at_form is not None:
        return (
            (at_form.name, at_form.version) if (at_form.name, at_form.version) in models else None
        )
    matches = [
        identity for identity in models if dashed_form(VersionedName(*identity)) == reference
    ]
    return matches[0] if len(matches) == 1 else None


def endpoint_footprint(
    documents: Documents, endpoint: str, environment: str | None = None
) -> Footprint | None:
    """The endpoint and everything it depends on, as data; None when the endpoint does not exist.
    ``environment``: the one the documents are of (a `trainedBy: ENV/JOB` naming it is followed)."""
    endpoint_data = documents.get(("ServingEndpoint", endpoint, None))
    if endpoint_data is None:
        return None
    reference = str(_spec(endpoint_data).get("modelId", ""))
    model = resolve_model_reference(documents, reference)
    model_id = f"{model[0]}@{model[1]}" if model else reference
    approvals = {}
    if model is not None:
        for (kind, name, _), data in documents.items():
            approved = str(_spec(data).get("modelId", ""))
            if kind == "Approval" and resolve_model_reference(documents, approved) == model:
                approvals[name] = data
    experiments = {
        name: data
        for (kind, name, _), data in documents.items()
        if kind == "PromptExperiment" and _spec(data).get("endpoint") == endpoint
    }
    template_names = sorted(
        {
            str(_spec(data).get(field))
            for data in experiments.values()
            for field in ("templateAId", "templateBId")
            if _spec(data).get(field)
        }
    )
    adapters = {}
    for adapter_reference in _spec(endpoint_data).get("adapters") or []:
        adapter = resolve_model_reference(documents, str(adapter_reference))
        label = f"{adapter[0]}@{adapter[1]}" if adapter else str(adapter_reference)
        adapters[label] = documents.get(("Model", *adapter)) if adapter else None
    served = [documents.get(("Model", *model)) if model else None, *adapters.values()]
    canary = canary_of_document(endpoint_data, lambda ref: resolve_model_reference(documents, ref))
    return {
        "canary": canary,
        "endpoint": endpoint_data,
        "model": {"id": model_id, "data": documents.get(("Model", *model)) if model else None},
        "adapters": adapters,
        "lineage": _lineage(documents, served, environment),
        "approvals": approvals,
        "experiments": experiments,
        "templates": {
            name: documents.get(("PromptTemplate", name, None)) for name in template_names
        },
    }


def _lineage(documents: Documents, models: list[Any], environment: str | None) -> dict[str, Any]:
    """The training jobs (of this environment) that made the served models, and their datasets.
    A `trainedBy: ENV/JOB` naming another environment is not followed: history reads one
    environment's documents (`llmops lineage` follows it)."""
    found: dict[str, Any] = {}
    for model in models:
        job_name = _spec(model).get("trainedBy")
        if not isinstance(job_name, str):
            continue
        if "/" in job_name:
            job_environment, _, job_name = job_name.rpartition("/")
            if job_environment != environment:
                continue
        job = documents.get(("TrainingJob", job_name, None))
        found[f"job {job_name}"] = job
        dataset_reference = str(_spec(job).get("datasetId", ""))
        dataset = _resolve_dataset(documents, dataset_reference) if job is not None else None
        if dataset is not None:
            found[f"dataset {dataset[0]}@{dataset[1]}"] = documents.get(("Dataset", *dataset))
    return found


def _resolve_dataset(documents: Documents, reference: str) -> tuple[str, str] | None:
    datasets = [(n, v) for kind, n, v in documents if kind == "Dataset" and v is not None]
    at_form = split_at_form(reference)
    if at_form is not None:
        wanted = (at_form.name, at_form.version)
        return wanted if wanted in datasets else None
    matches = [
        identity for identity in datasets if dashed_form(VersionedName(*identity)) == reference
    ]
    return matches[0] if len(matches) == 1 else None


def _value(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, (dict, list)):
        return "{…}" if isinstance(value, dict) else "[…]"
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "…"


def _field_lines(before: Any, after: Any, skip: frozenset[str] = frozenset()) -> list[str]:
    lines = []
    for change in field_changes(before, after):
        path = change.path.removeprefix("spec.")
        if path in skip:
            continue
        lines.append(f"{path} {_value(change.before)} -> {_value(change.after)}")
    return lines


def _approver(name: str, data: Any) -> str:
    return str(_spec(data).get("approvedBy") or name)


def _named_changes(
    label: str,
    before: dict[str, Any],
    after: dict[str, Any],
    describe: Callable[[str, Any], str] | None = None,
) -> list[str]:
    lines = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        title = describe(name, new if new is not None else old) if describe else name
        if old is None and new is not None:
            lines.append(f"{label} {title} added")
        elif new is None and old is not None:
            lines.append(f"{label} {title} removed")
        elif old != new:
            detail = ", ".join(_field_lines(old, new)) or "changed"
            lines.append(f"{label} {title}: {detail}")
    return lines


def describe_changes(before: Footprint | None, after: Footprint | None) -> list[str]:
    """One line per change a person cares about, e.g. `model base@1.0 -> base@1.1`, `maxReplicas 3
    -> 5`."""
    if before is None and after is None:
        return []
    if before is None:
        assert after is not None
        return [f"endpoint added (model {after['model']['id']})"]
    if after is None:
        return ["endpoint removed"]
    lines = []
    if before["model"]["id"] != after["model"]["id"]:
        lines.append(f"model {before['model']['id']} -> {after['model']['id']}")
    elif before["model"]["data"] != after["model"]["data"]:
        detail = (
            ", ".join(_field_lines(before["model"]["data"], after["model"]["data"])) or "changed"
        )
        lines.append(f"model {after['model']['id']} manifest: {detail}")
    canary = describe_canary(before["canary"], after["canary"], after["model"]["id"])
    lines.extend([canary] if canary else [])
    lines.extend(
        line
        for line in _field_lines(before["endpoint"], after["endpoint"], skip=frozenset({"modelId"}))
        # the canary's model and weight are said above; its other fields stay (deploymentSpec)
        if not line.startswith(("canary.model ", "canary.weight ", "canary "))
    )
    if before["model"]["id"] == after["model"]["id"]:
        lines.extend(
            _named_changes("approval by", before["approvals"], after["approvals"], _approver)
        )
    else:
        added = sorted(_approver(name, data) for name, data in after["approvals"].items())
        if added:
            lines.append(f"approvals of {after['model']['id']}: {', '.join(added)}")
    lines.extend(_named_changes("adapter", before["adapters"], after["adapters"]))
    lines.extend(_named_changes("lineage:", before["lineage"], after["lineage"]))
    lines.extend(_named_changes("experiment", before["experiments"], after["experiments"]))
    lines.extend(_named_changes("template", before["templates"], after["templates"]))
    return lines
