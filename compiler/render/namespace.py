"""The environment's Namespace."""

from __future__ import annotations

from typing import Any

from compiler.render.context import RenderContext
from compiler.render.templating import render_template


def render_namespace(ctx: RenderContext) -> dict[str, Any]:
    metadata = ctx.metadata("Namespace", ctx.namespace)
    del metadata["namespace"]  # cluster-scoped
    source = ctx.env.settings_manifest
    if source is not None:
        metadata["annotations"]["llmops.io/source"] = source.file
    return render_template("kubernetes/namespace.json.j2", metadata=metadata)
