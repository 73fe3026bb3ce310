"""The llmops proxy of one environment: ConfigMap (generated configuration), Deployment, Service."""

from __future__ import annotations

import hashlib
from typing import Any

from compiler.render.context import RenderContext
from compiler.render.ingress import PROXY_SERVICE_PORT
from compiler.render.templating import render_template
from compiler.target import naming

CONFIG_KEY = "proxy.json"
CONFIG_MOUNT = "/etc/llmops"
CONTAINER_PORT = 8000
CONFIG_NAME = f"{naming.PROXY_NAME}-config"
# What one worker process takes: it is busy on at most one core, and its memory is the interpreter
# plus the answers it holds (bounded by ProxyOptions.max_held_bytes, per worker).
CPU_REQUEST_MILLI, CPU_LIMIT = 250, 1
MEMORY_REQUEST_MI, MEMORY_LIMIT_MI = 256, 512


def proxy_resources(workers: int) -> dict[str, dict[str, str]]:
    """Requests and limits of a proxy pod running ``workers`` processes."""
    return {
        "requests": {
            "cpu": f"{CPU_REQUEST_MILLI * workers}m",
            "memory": f"{MEMORY_REQUEST_MI * workers}Mi",
        },
        "limits": {"cpu": str(CPU_LIMIT * workers), "memory": f"{MEMORY_LIMIT_MI * workers}Mi"},
    }


def render_proxy(ctx: RenderContext, config_text: str) -> list[dict[str, Any]]:
    settings = ctx.env.settings.proxy
    labels = {"component": "proxy"}
    selector = {"app.kubernetes.io/name": naming.PROXY_NAME, "llmops.io/environment": ctx.name}
    config_map = render_template(
        "proxy/configmap.json.j2",
        metadata=ctx.metadata("ConfigMap", CONFIG_NAME, labels=labels),
        key=CONFIG_KEY,
        text=config_text,
    )
    pod_labels = {**ctx.labels(None, **labels), **selector}
    deployment_metadata = ctx.metadata("Deployment", naming.PROXY_NAME, labels=labels)
    deployment_metadata["labels"].update(selector)
    deployment = render_template(
        "proxy/deployment.json.j2",
        metadata=deployment_metadata,
        replicas=settings.replicas,
        selector=selector,
        pod_labels=pod_labels,
        # A changed configuration must roll the pods: the checksum makes it a template change.
        pod_annotations={
            "llmops.io/config-sha256": hashlib.sha256(config_text.encode()).hexdigest()
        },
        image=settings.image,
        config_name=CONFIG_NAME,
        config_key=CONFIG_KEY,
        mount=CONFIG_MOUNT,
        port=CONTAINER_PORT,
        token_secret=settings.token_secret_name,
        workers=settings.workers,
        resources=proxy_resources(settings.workers),
    )
    service_metadata = ctx.metadata("Service", naming.PROXY_NAME, labels=labels)
    service = render_template(
        "proxy/service.json.j2",
        metadata=service_metadata,
        selector=selector,
        port=PROXY_SERVICE_PORT,
        target_port=CONTAINER_PORT,
    )
    return [config_map, deployment, service]
