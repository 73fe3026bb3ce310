"""The proxy's configuration, generated from the manifests: everything `llmops proxy` needs in-cluster."""

from __future__ import annotations

from typing import Any

from compiler.render import kserve
from compiler.render.context import RenderContext
from compiler.render.json_text import indented_json
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest

PROXY_CONFIG_VERSION = 1
REQUIRED_ROLE = "llm-ops-user"  # the seeds' governance middleware requires it on every call


def _endpoint(ctx: RenderContext, endpoint: Manifest, model: Manifest) -> dict[str, Any]:
    spec = endpoint.spec
    deployment = spec.deployment_spec
    runtime = deployment.runtime if deployment is not None else None
    return {
        "name": endpoint.name,
        "route": spec.route.rstrip("/"),
        "environment": ctx.name,
        "modelId": f"{model.name}@{model.version}",
        "model": {"name": model.name, "version": model.version},
        "serveTarget": deployment.serve_target if deployment is not None else "GENERATION",
        "backend": {"url": kserve.backend_url(ctx, endpoint), "api": "kserve-openai",
                    "openaiPrefix": kserve.OPENAI_PREFIX, "servedModelName": kserve.served_model_name(endpoint)},
        "limits": None if runtime is None else {
            "maxConcurrentRequests": runtime.max_concurrent_requests,
            "maxInputTokens": runtime.max_input_tokens,
            "maxOutputTokens": runtime.max_output_tokens,
        },
        "allowedRoles": list(spec.allowed_roles),
        "minReplicas": spec.min_replicas,
        "maxReplicas": spec.max_replicas,
    }


def _template(template: Manifest) -> dict[str, Any]:
    spec = template.spec
    return {"name": template.name, "version": spec.version, "template": spec.template,
            "variables": dict(spec.variables)}


def _experiment(experiment: Manifest) -> dict[str, Any]:
    spec = experiment.spec
    return {"id": experiment.name, "endpoint": spec.endpoint, "templateAId": spec.template_a_id,
            "templateBId": spec.template_b_id, "allocation": spec.allocation, "metric": spec.metric,
            "status": "running" if spec.is_running else "concluded",
            "winnerTemplateId": spec.winner_template_id, "notes": spec.notes}


def proxy_config(ctx: RenderContext, endpoints: list[tuple[Manifest, Manifest]]) -> dict[str, Any]:
    """The document the proxy loads. Endpoints are (endpoint, model) pairs in render order."""
    return {
        "version": PROXY_CONFIG_VERSION,
        "environment": ctx.name,
        "namespace": ctx.namespace,
        "access": {"requiredRole": REQUIRED_ROLE,
                   "bearerTokenSecret": ctx.env.settings.proxy.token_secret_name},
        "endpoints": [_endpoint(ctx, endpoint, model) for endpoint, model in endpoints],
        "templates": [_template(t) for t in ctx.env.of_kind("PromptTemplate")],
        "experiments": [_experiment(e) for e in ctx.env.of_kind("PromptExperiment")],
    }


def served_endpoints(env: ResolvedEnvironment) -> list[tuple[Manifest, Manifest]]:
    """(endpoint, model) pairs in render order. The environment must have validated cleanly."""
    served = []
    for endpoint in env.of_kind("ServingEndpoint"):
        model = env.resolve_model(endpoint.spec.model_id).manifest
        assert model is not None, "render needs a validated estate"
        served.append((endpoint, model))
    return served


def environment_proxy_config(env: ResolvedEnvironment) -> dict[str, Any]:
    """What the environment's ConfigMap carries, for `llmops proxy` rendering it in-process."""
    return proxy_config(RenderContext(env), served_endpoints(env))


def proxy_config_text(config: dict[str, Any]) -> str:
    """Stable, readable JSON: the ConfigMap's content and the input of the pods' config checksum."""
    return indented_json(config) + "\n"
