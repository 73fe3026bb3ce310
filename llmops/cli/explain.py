"""`llmops explain ENDPOINT --env ENV`: one endpoint's capacity arithmetic, and where every input
came from."""

from __future__ import annotations

import json
import sys

from compiler.capacity.endpoint import endpoint_capacity
from compiler.capacity.explain import explain as build_explanation
from compiler.capacity.explain import format_text, is_error
from compiler.errors import LlmopsError
from compiler.load.tree import DirectoryTree
from compiler.pipeline import validate_repository
from compiler.printable import escape_controls
from llmops.cli import exit_codes
from llmops.estate import find_estate_root


def explain(endpoint_name: str, env_name: str, repo: str | None, output_format: str) -> int:
    """Exit 0 when the endpoint fits (warnings allowed), 1 when validation says it will not
    start."""
    result = validate_repository(DirectoryTree(find_estate_root(repo)), env_name)
    env = next(env for env in result.estate.environments if env.name == env_name)
    if env.settings_gap is not None:
        raise LlmopsError(
            f"the settings of environment `{escape_controls(env_name)}` could not be read "
            f"({escape_controls(env.settings_gap.file)}), and the arithmetic rests on them",
            hint=f"`llmops validate --env {escape_controls(env_name)}` says what to fix",
        )
    endpoints = {manifest.name: manifest for manifest in env.of_kind("ServingEndpoint")}
    endpoint = endpoints.get(endpoint_name)
    if endpoint is None:
        known = ", ".join(sorted(endpoints)) or "none"
        raise LlmopsError(
            f"no ServingEndpoint `{endpoint_name}` in environment `{env_name}` (endpoints: "
            f"{known})",
            hint="`llmops validate --env ENV` reports endpoints that failed validation",
        )
    capacity = endpoint_capacity(env, endpoint)
    if capacity is None:
        raise LlmopsError(
            f"the model of ServingEndpoint `{endpoint_name}` ({endpoint.spec.model_id}) does not "
            f"resolve in `{env_name}`",
            hint=f"`llmops validate --env {env_name}` says why",
        )
    mine = [
        d
        for d in result.diagnostics
        if (d.subject or "").startswith(f"{endpoint.subject} (")
        # C001 on the model names its endpoint
        or f"{endpoint.subject} on GPUs in `{env_name}`" in d.message
    ]
    explanation = build_explanation(capacity, mine)
    if output_format == "json":
        sys.stdout.write(json.dumps(explanation, indent=2) + "\n")
    else:
        sys.stdout.write(escape_controls(format_text(explanation, capacity), keep_newlines=True))
    return exit_codes.FAILED if is_error(explanation) else exit_codes.OK
