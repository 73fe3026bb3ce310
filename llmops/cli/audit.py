"""`llmops audit`: `llmops validate --audit` under its own name (CI steps read better so)."""

from __future__ import annotations

import click

from llmops.cli import options
from llmops.cli.validate import validate, validate_parameters


def audit(
    *, repo: str | None, env: str | None, output_format: str, warnings_as_errors: bool
) -> int:
    return validate(
        repo=repo,
        env=env,
        output_format=output_format,
        warnings_as_errors=warnings_as_errors,
        audit=True,
    )


command = click.Command(
    "audit",
    callback=audit,
    help="validate, and audit approvals against git history (= validate --audit)\n\nEvery check, "
    "plus who committed each approval (rules G001-G004).\n\n" + options.REPO_HELP,
    params=[
        *validate_parameters(),
        # accepted as before, and implied
        click.Option(["--audit"], is_flag=True, hidden=True, expose_value=False),
    ],
)
