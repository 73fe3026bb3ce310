"""The environment's Namespace."""

from __future__ import annotations

from typing import Any

from compiler.render.context import RenderContext
from compiler.render.templating import render_template

SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
# Model servers and the proxy run unprivileged; `baseline` (the environment's `podSecurity`
# unless it says `privileged`) refuses privileged pods, host access and added capabilities.
POD_SECURITY_LABELS = ("pod-security.kubernetes.io/enforce", "pod-security.kubernetes.io/warn")


def render_namespace(ctx: RenderContext) -> dict[str, Any]:
    metadata = ctx.metadata("Namespace", ctx.namespace)
    del metadata["namespace"]  # cluster-scoped
    level = ctx.env.settings.pod_security
    metadata["labels"].update(dict.fromkeys(POD_SECURITY_LABELS, level))
    # Renaming the namespace or dropping the environment must not delete what people created in it
    # by hand (TLS and token Secrets): Argo CD neither prunes it nor deletes it with the
    # Application.
    metadata["annotations"][SYNC_OPTIONS] = "Prune=false,Delete=false"
    source = ctx.env.settings_manifest
    if source is not None:
        metadata["annotations"]["llmops.io/source"] = source.file
    return render_template("kubernetes/namespace.json.j2", metadata=metadata)
