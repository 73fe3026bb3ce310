"""The proxy's configuration, generated from the manifests: everything `llmops proxy` needs
in-cluster.

Besides what inference needs (endpoints, templates, experiments), it carries the catalog the proxy
answers the original platform's read routes from (models, datasets, training jobs), each with the
fields of its manifest's `spec` as written. Only manifest content goes in: no dates from git history
(the core has no git, and a ConfigMap that changed with the clone's history would roll the proxy
pods without any manifest change).
"""

from __future__ import annotations

from typing import Any

from compiler.capacity.adapters import served_adapters
from compiler.render.canary import canary_proxy_entry
from compiler.render.context import RenderContext
from compiler.render.json_text import indented_json
from compiler.render.remembered import remembered_text
from compiler.resolve.approvals import approval_state
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.resolve.serving_backend import is_llm_inference_service
from compiler.spec.dataset import DatasetSpec
from compiler.spec.model import ModelSpec
from compiler.spec.prompt import PromptExperimentSpec, PromptTemplateSpec
from compiler.spec.serving import ServingEndpointSpec
from compiler.spec.training import TrainingJobSpec
from compiler.target import naming

PROXY_CONFIG_VERSION = 1


# An endpoint and the model it serves.
ServedEndpoint = tuple[Manifest[ServingEndpointSpec], Manifest[ModelSpec]]


def _backend(ctx: RenderContext, endpoint: Manifest[ServingEndpointSpec]) -> dict[str, str]:
    """Where the proxy sends the endpoint's requests: its KServe predictor, or vLLM's own server
    behind an LLMInferenceService."""
    if is_llm_inference_service(ctx.env, endpoint):
        # imported here: `validate` measures this configuration (K009) for every estate, and the
        # LLMInferenceService renderer is needed only by the estates that use that backend
        from compiler.render.llm_inference_service import proxy_backend

        return proxy_backend(ctx, endpoint)
    return {
        "url": naming.predictor_url(endpoint.name, ctx.namespace),
        "api": "kserve-openai",
        "openaiPrefix": naming.KSERVE_OPENAI_PREFIX,
        "servedModelName": naming.served_model_name(endpoint.name),
    }


def _endpoint(
    ctx: RenderContext, endpoint: Manifest[ServingEndpointSpec], model: Manifest[ModelSpec]
) -> dict[str, Any]:
    spec = endpoint.spec
    deployment = spec.deployment_spec
    runtime = deployment.runtime if deployment is not None else None
    adapters = [
        {
            "name": adapter.served_name,
            "model": {"name": adapter.model.name, "version": adapter.model.version},
        }
        for adapter in served_adapters(ctx.env, endpoint)
    ]
    canary = canary_proxy_entry(ctx, endpoint)
    return {
        "name": endpoint.name,
        "route": spec.route.rstrip("/"),
        "environment": ctx.name,
        # as written: `name@version` or the original platform's `name-version`
        "modelId": spec.model_id,
        "model": {"name": model.name, "version": model.version},
        "serveTarget": deployment.serve_target if deployment is not None else "GENERATION",
        "backend": _backend(ctx, endpoint),
        "limits": None
        if runtime is None
        else {
            "maxConcurrentRequests": runtime.max_concurrent_requests,
            "maxInputTokens": runtime.max_input_tokens,
            "maxOutputTokens": runtime.max_output_tokens,
        },
        "allowedRoles": list(spec.allowed_roles),
        "minReplicas": spec.min_replicas,
        "maxReplicas": spec.max_replicas,
        # written only when there are some, so endpoints without adapters render as before
        **({"adapters": adapters} if adapters else {}),
        # likewise the canary: its weight, model and backend (the proxy splits the traffic)
        **({"canary": canary} if canary is not None else {}),
    }


def _template(template: Manifest[PromptTemplateSpec]) -> dict[str, Any]:
    spec = template.spec
    return {
        "name": template.name,
        "version": spec.version,
        "template": spec.template,
        "variables": dict(spec.variables),
    }


def _experiment(experiment: Manifest[PromptExperimentSpec]) -> dict[str, Any]:
    spec = experiment.spec
    return {
        "id": experiment.name,
        "endpoint": spec.endpoint,
        "templateAId": spec.template_a_id,
        "templateBId": spec.template_b_id,
        "allocation": spec.allocation,
        "metric": spec.metric,
        "status": "running" if spec.is_running else "concluded",
        "winnerTemplateId": spec.winner_template_id,
        "notes": spec.notes,
    }


def _written(manifest: Manifest) -> dict[str, Any]:
    """The spec's fields as written in the manifest (under the original platform's names), nothing
    llmops defaulted."""
    written: dict[str, Any] = manifest.spec.model_dump(
        mode="json", by_alias=True, exclude_unset=True
    )
    return written


def _model(ctx: RenderContext, model: Manifest[ModelSpec]) -> dict[str, Any]:
    """`status` is `approved` when the environment's Approvals approve this exact manifest (what the
    original platform's status PATCH recorded), else the manifest's own."""
    approvals = approval_state(ctx.env, model)
    return {
        "id": f"{model.name}@{model.version}",
        "name": model.name,
        "version": model.version,
        **model.derived(_written),
        "status": "approved" if approvals.approved else model.spec.status,
        "approvedBy": list(approvals.valid_approvers),
        "requiredApprovals": approvals.needed,
    }


def _dataset(dataset: Manifest[DatasetSpec]) -> dict[str, Any]:
    return {
        "id": f"{dataset.name}@{dataset.version}",
        "name": dataset.name,
        "version": dataset.version,
        **_written(dataset),
    }


def _training_job(job: Manifest[TrainingJobSpec]) -> dict[str, Any]:
    return {"id": job.name, "name": job.name, **_written(job)}


# One entry of the document and the manifest it was made from.
Entry = tuple[Manifest, dict[str, Any]]


def proxy_entries(ctx: RenderContext, endpoints: list[ServedEndpoint]) -> dict[str, list[Entry]]:
    """The document's lists, each entry with its manifest: K009 names the one that weighs most.
    Built once per run and environment: K009 measures what render then writes."""
    env = ctx.env

    def build() -> dict[str, list[Entry]]:
        return {
            "endpoints": [(e, _endpoint(ctx, e, model)) for e, model in endpoints],
            "templates": [(t, t.derived(_template)) for t in env.of_kind("PromptTemplate")],
            "experiments": [(e, e.derived(_experiment)) for e in env.of_kind("PromptExperiment")],
            "models": [(m, _model(ctx, m)) for m in env.of_kind("Model")],
            "datasets": [(d, d.derived(_dataset)) for d in env.of_kind("Dataset")],
            "trainingJobs": [(j, j.derived(_training_job)) for j in env.of_kind("TrainingJob")],
        }

    return env.remember(("proxy-entries", env.name, tuple(endpoints)), build)


def proxy_config(
    ctx: RenderContext,
    endpoints: list[ServedEndpoint],
    entries: dict[str, list[Entry]] | None = None,
) -> dict[str, Any]:
    """The document the proxy loads. Endpoints are (endpoint, model) pairs in render order;
    ``entries``, when given, are `proxy_entries` of the same."""
    settings = ctx.env.settings.proxy
    lists = proxy_entries(ctx, endpoints) if entries is None else entries
    return {
        "version": PROXY_CONFIG_VERSION,
        "environment": ctx.name,
        "namespace": ctx.namespace,
        "access": {
            "requiredRole": settings.required_role,
            # whether environment.yaml writes it, so a refusal does not claim it does
            "requiredRoleIsDefault": "required_role" not in settings.model_fields_set,
            "bearerTokenSecret": settings.token_secret_name,
        },
        **{section: [entry for _, entry in items] for section, items in lists.items()},
    }


def served_endpoints(env: ResolvedEnvironment) -> list[ServedEndpoint]:
    """(endpoint, model) pairs in render order. The environment must have validated cleanly."""
    served: list[ServedEndpoint] = []
    for endpoint in env.of_kind("ServingEndpoint"):
        model = env.resolve_model(endpoint.spec.model_id).manifest
        assert model is not None, "render needs a validated estate"
        served.append((endpoint, model))
    return served


def environment_proxy_config(env: ResolvedEnvironment) -> dict[str, Any]:
    """What the environment's ConfigMap carries, for `llmops proxy` rendering it in-process."""
    return proxy_config(RenderContext(env), served_endpoints(env))


# how deep the entries of the configuration's lists are indented: "  " for the list, "  " more
ENTRY_NEWLINE = "\n    "


def proxy_config_text(config: dict[str, Any]) -> str:
    """Stable, readable JSON, exactly `indented_json(config) + "\\n"`: the ConfigMap's content and
    the input of the pods' config checksum."""
    return _proxy_text(config)[0]


# The proxy's configuration text, and the text of each entry of its lists as it stands there.
ProxyText = tuple[str, dict[str, list[str]]]


def _proxy_text(config: dict[str, Any], written: dict[int, str] | None = None) -> ProxyText:
    """`proxy_config_text`, and its lists' entries' texts. Each entry is a `remembered_text`: the
    configuration of an environment with a thousand endpoints is megabytes of JSON, costly to write
    in Python, and a change to one endpoint changes one entry (its key is a fraction of writing it).
    ``written`` holds the texts of entries written before, by the entry's `id`.
    """
    parts: list[str] = []
    entry_texts: dict[str, list[str]] = {}
    separator = "{\n  "
    for key, value in config.items():
        parts.append(separator)
        parts.append(indented_json(key))
        parts.append(": ")
        if value.__class__ is list and value:
            entries = entry_texts[key] = [
                _entry_text(entry)
                if written is None or id(entry) not in written
                else written[id(entry)]
                for entry in value
            ]
            parts.append("[" + ENTRY_NEWLINE + ("," + ENTRY_NEWLINE).join(entries) + "\n  ]")
        else:
            parts.append(indented_json(value).replace("\n", "\n  "))
        separator = ",\n  "
    parts.append("\n}\n" if parts else "{}\n")
    return "".join(parts), entry_texts


def _entry_text(entry: Any) -> str:
    """An entry of one of the configuration's lists, indented as it stands there."""
    return remembered_text(
        "proxy config entry", entry, lambda: indented_json(entry).replace("\n", ENTRY_NEWLINE)
    )


def environment_proxy_text(ctx: RenderContext, endpoints: list[ServedEndpoint]) -> str:
    """`proxy_config_text(proxy_config(ctx, endpoints))`, written once per run and environment:
    K009 measures the text render then writes."""
    return _environment_proxy_text(ctx, endpoints)[0]


def environment_proxy_entry_texts(
    ctx: RenderContext, endpoints: list[ServedEndpoint]
) -> dict[str, list[str]]:
    """The texts of the entries of `environment_proxy_text`'s lists, by list, in order: what each
    of `proxy_entries` adds to it (K009 names the one that adds most)."""
    return _environment_proxy_text(ctx, endpoints)[1]


def _environment_proxy_text(ctx: RenderContext, endpoints: list[ServedEndpoint]) -> ProxyText:
    env = ctx.env

    def write() -> ProxyText:
        entries = proxy_entries(ctx, endpoints)
        written = {
            id(entry): manifest.derived(_OWN_ENTRY_TEXTS[section])
            for section in _OWN_ENTRY_TEXTS
            for manifest, entry in entries[section]
        }
        return _proxy_text(proxy_config(ctx, endpoints, entries), written)

    text: ProxyText = env.remember(("proxy-text", env.name, tuple(endpoints)), write)
    return text


def _template_text(template: Manifest[PromptTemplateSpec]) -> str:
    return _entry_text(template.derived(_template))


def _experiment_text(experiment: Manifest[PromptExperimentSpec]) -> str:
    return _entry_text(experiment.derived(_experiment))


def _dataset_text(dataset: Manifest[DatasetSpec]) -> str:
    return _entry_text(dataset.derived(_dataset))


def _training_job_text(job: Manifest[TrainingJobSpec]) -> str:
    return _entry_text(job.derived(_training_job))


# The lists whose entries are made from their manifest alone, and the text of such an entry: a
# manifest keeps it (`Manifest.derived`), so the warm server writes it once while the file is the
# same.
_OWN_ENTRY_TEXTS: dict[str, Any] = {
    "templates": _template_text,
    "experiments": _experiment_text,
    "datasets": _dataset_text,
    "trainingJobs": _training_job_text,
}
