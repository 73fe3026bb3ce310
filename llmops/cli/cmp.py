"""`llmops cmp generate`: the Argo CD config-management plugin's generate command.

Argo CD applies whatever this prints, and prunes what it does not print: so stdout carries
Kubernetes objects only, and only when everything succeeded; logs and diagnostics go to stderr; any
problem is a non-zero exit, never an empty or partial stream.
"""

from __future__ import annotations

import os
import sys

import click

from compiler.errors import LlmopsError
from llmops.cli import exit_codes, options
from llmops.cli.render import cache_directory, rendered_output

ENV_VARIABLE = "ARGOCD_ENV_LLMOPS_ENV"


def cmp_generate(*, repo: str | None) -> int:
    env = os.environ.get(ENV_VARIABLE, "").strip()
    if not env:
        raise LlmopsError(
            f"{ENV_VARIABLE} is not set",
            hint="set `plugin.env: [{name: LLMOPS_ENV, value: <env>}]` in the Application",
        )
    # the cache: $LLMOPS_CACHE_DIR, else the default (see `llmops render --cache-dir`)
    rendered = rendered_output(
        repo,  # as every command finds it: the Application's path is the estate's root
        env,
        files=False,
        stream=True,
        cache_dir=cache_directory(os.environ.get("LLMOPS_CACHE_DIR")),
    )
    if rendered is None:
        print(f"llmops: environment `{env}` has errors; nothing was generated", file=sys.stderr)
        return exit_codes.FAILED
    objects = rendered.objects
    if not objects:
        print(
            f"llmops: environment `{env}` rendered no objects; refusing to let Argo CD prune "
            "everything",
            file=sys.stderr,
        )
        return exit_codes.FAILED
    print(f"llmops: generated {objects} objects for environment `{env}`", file=sys.stderr)
    from llmops.stream_output import write_rendered_stream

    write_rendered_stream(rendered, sys.stdout)
    return exit_codes.OK


command = click.Command(
    "cmp",
    callback=cmp_generate,
    help=f"Argo CD config-management plugin (generate)\n\n`llmops cmp generate [REPO]` renders the "
    f"environment named by {ENV_VARIABLE} to stdout, logs on stderr; any problem is a non-zero "
    "exit with nothing on stdout. REPO defaults to $LLMOPS_REPO, else the nearest directory upward "
    "that holds environments/ (the Application's path: the estate's root). Renders are kept in "
    "the render cache, as `llmops render` keeps them: $LLMOPS_CACHE_DIR (`off`: none), else "
    "$XDG_CACHE_HOME/llmops/render, within $LLMOPS_CACHE_MAX_MB MiB (default 1024).",
    params=[
        click.Argument(["action"], type=click.Choice(("generate",)), expose_value=False),
        options.repo_argument(),
    ],
)
