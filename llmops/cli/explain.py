"""`llmops explain ENDPOINT --env ENV`: one endpoint's capacity arithmetic, and where every input
came from."""

from __future__ import annotations

import json
import sys

import click

from compiler.capacity.explain import explain_endpoint, format_text, is_error
from compiler.errors import LlmopsError
from compiler.load.tree import DirectoryTree
from compiler.pipeline import validate_repository
from compiler.printable import escape_controls, shown_argument
from compiler.resolve.lineage_report import format_lineage_text
from llmops.cli import exit_codes, options
from llmops.estate import find_estate_root


def explain(*, endpoint: str, env: str, repo: str | None, output_format: str) -> int:
    """Exit 0 when the endpoint fits (warnings allowed), 1 when validation says it will not
    start."""
    result = validate_repository(DirectoryTree(find_estate_root(repo)), env)
    environment = next(e for e in result.estate.environments if e.name == env)
    if environment.settings_gap is not None:
        raise LlmopsError(
            f"the settings of environment `{shown_argument(env)}` could not be read "
            f"({escape_controls(environment.settings_gap.file)}), and the arithmetic rests on them",
            hint=f"`llmops validate --env {escape_controls(env)}` says what to fix",
        )
    endpoints = {manifest.name: manifest for manifest in environment.of_kind("ServingEndpoint")}
    served = endpoints.get(endpoint)
    if served is None:
        known = ", ".join(sorted(endpoints)) or "none"
        from llmops.cli.rules import EVERY_RULE_BY_CODE

        rule = EVERY_RULE_BY_CODE.get(endpoint.upper())
        raise LlmopsError(
            f"no ServingEndpoint `{shown_argument(endpoint)}` in environment "
            f"`{shown_argument(env)}` (endpoints: {known})",
            hint=f"`llmops rules {rule.code}` explains the rule {rule.code}"
            if rule is not None
            else "`llmops validate --env ENV` reports endpoints that failed validation",
        )
    explained = explain_endpoint(environment, served, result.diagnostics)
    if explained is None:
        raise LlmopsError(
            f"the model of ServingEndpoint `{endpoint}` ({served.spec.model_id}) does not "
            f"resolve in `{env}`",
            hint=f"`llmops validate --env {env}` says why",
        )
    explanation, capacity = explained
    lineages = explanation.get("lineage", [])
    if output_format == "json":
        sys.stdout.write(json.dumps(explanation, indent=2) + "\n")
    else:
        text = format_text(explanation, capacity)
        for report in lineages:
            text += "\n" + format_lineage_text(report)
        sys.stdout.write(escape_controls(text, keep_newlines=True))
    return exit_codes.FAILED if is_error(explanation) else exit_codes.OK


command = click.Command(
    "explain",
    callback=explain,
    help="an endpoint's capacity arithmetic and where each input came from\n\nExit 0: it fits "
    "(warnings allowed); 1: it will not start; 2: unknown endpoint or environment.\n\n"
    + options.REPO_HELP,
    params=[
        options.endpoint_argument(),
        options.env_option("the environment it is deployed in", required=True),
        options.repo_argument(),
        options.format_option(("text", "json")),
    ],
)
