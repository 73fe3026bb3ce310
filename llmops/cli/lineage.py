"""`llmops lineage MODEL --env ENV`: where a model comes from (dataset -> job -> base) and where it
is served."""

from __future__ import annotations

import json
import sys

import click

from compiler.errors import LlmopsError
from compiler.load.tree import DirectoryTree
from compiler.pipeline import validate_repository
from compiler.printable import escape_controls, shown_argument
from compiler.resolve.lineage_report import format_lineage_text, lineage_report
from llmops.cli import exit_codes, options
from llmops.estate import find_estate_root


def lineage(*, model: str, env: str, repo: str | None, output_format: str) -> int:
    """Exit 0 when the lineage holds together, 1 when validation found a lineage problem on it."""
    result = validate_repository(DirectoryTree(find_estate_root(repo)), env)
    environment = next(e for e in result.estate.environments if e.name == env)
    found = environment.resolve_model(model)
    if found.manifest is None:
        known = ", ".join(found.candidates[:10]) or "none"
        raise LlmopsError(
            f"no Model `{shown_argument(model)}` in environment `{shown_argument(env)}` "
            f"(models: {escape_controls(known)})",
            hint="name it `name@version`; `llmops validate --env ENV` reports models that failed "
            "validation",
        )
    report = lineage_report(environment, found.manifest, result.diagnostics)
    if output_format == "json":
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        sys.stdout.write(escape_controls(format_lineage_text(report), keep_newlines=True))
    return exit_codes.FAILED if report["problems"] else exit_codes.OK


command = click.Command(
    "lineage",
    callback=lineage,
    help="a model's lineage: dataset -> job -> model -> endpoint, and its approvals"
    "\n\nMODEL is `name@version` or `name-version`. Exit 0: the links hold; 1: validation found a "
    "lineage problem (M rules) on them; 2: unknown model or environment.\n\n" + options.REPO_HELP,
    params=[
        click.Argument(["model"], metavar="MODEL"),
        options.env_option("the environment whose catalog holds it", required=True),
        options.repo_argument(),
        options.format_option(("text", "json")),
    ],
)
