"""Ingress: each endpoint's public route, served by the llmops proxy (never by KServe's own
Ingress)."""

from __future__ import annotations

from typing import Any

from compiler.render.context import RenderContext
from compiler.render.templating import render_template
from compiler.resolve.manifest import Manifest
from compiler.spec.serving import ServingEndpointSpec
from compiler.target import naming

PROXY_SERVICE_PORT = 80
# The proxy's platform API on the original platform's paths (the catalog and training reads, and the
# answers to their writes, included); /metrics stays inside.
PLATFORM_PATHS = (
    "/llm-ops/v1/health",
    "/llm-ops/v1/serving",
    "/llm-ops/v1/prompts",
    "/llm-ops/v1/catalog",
    "/llm-ops/v1/training",
)
# ingress-nginx defaults (60 s reads, buffered responses) cut long generations and hold back
# streams.
NGINX_STREAMING = {
    "nginx.ingress.kubernetes.io/proxy-read-timeout": "600",
    "nginx.ingress.kubernetes.io/proxy-send-timeout": "600",
    "nginx.ingress.kubernetes.io/proxy-buffering": "off",
}


def ingress_host(ctx: RenderContext) -> str:
    return naming.ingress_host(ctx.env.settings.ingress.host, ctx.name)


def _ingress(
    ctx: RenderContext, name: str, paths: list[str], source: Manifest | None, labels: dict[str, str]
) -> dict[str, Any]:
    settings = ctx.env.settings.ingress
    tls = (
        [{"hosts": [ingress_host(ctx)], "secretName": settings.tls_secret_name}]
        if settings.tls_secret_name
        else []
    )
    return render_template(
        "kubernetes/ingress.json.j2",
        metadata=ctx.metadata(
            "Ingress",
            name,
            source,
            labels=labels,
            annotations=NGINX_STREAMING if settings.class_name == "nginx" else None,
        ),
        class_name=settings.class_name,
        host=ingress_host(ctx),
        tls=tls,
        paths=paths,
        service=naming.PROXY_NAME,
        port=PROXY_SERVICE_PORT,
    )


def render_endpoint_ingress(
    ctx: RenderContext, endpoint: Manifest[ServingEndpointSpec]
) -> dict[str, Any]:
    """Named `<endpoint>-llmops`: KServe's own Ingress takes the InferenceService's name."""
    return _ingress(
        ctx,
        naming.ingress_name(endpoint.name),
        [endpoint.spec.route.rstrip("/")],
        endpoint,
        {"endpoint": endpoint.name},
    )


def render_platform_ingress(ctx: RenderContext) -> dict[str, Any]:
    """The proxy's own API: health, endpoint listing, experiments, metrics."""
    return _ingress(ctx, naming.PROXY_NAME, list(PLATFORM_PATHS), None, {"component": "proxy"})
