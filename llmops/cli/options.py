"""What several commands share, spelled once: the estate argument, `--env`, output formats, counts
and durations, the environment variables that give their defaults, and completing names from the
estate."""

from __future__ import annotations

from typing import Any

import click

ENV_VARIABLE = "LLMOPS_ENV"
REPO_VARIABLE = "LLMOPS_REPO"
FORMAT_VARIABLE = "LLMOPS_FORMAT"
REPORT_FORMATS = ("text", "json", "github", "sarif", "junit")
REPO_HELP = (
    f"REPO is the estate (a directory with environments/); default: ${REPO_VARIABLE}, else the "
    "nearest directory upward that holds environments/."
)
LONGEST_SECONDS = 86400


# click.ParamType is generic from click 8.5 on, and cannot be subscripted before
class WholeNumber(click.ParamType):  # type: ignore[type-arg]
    """A count of at least 1 (`-n`, `--steps`, `--max-connections`)."""

    name = "whole number"

    def __init__(self, maximum: int | None = None) -> None:
        self.maximum = maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        number = _digits(value)
        if number is None or number < 1:
            self.fail(f"expected a whole number of at least 1, got {value!r}", param, ctx)
        if self.maximum is not None and number > self.maximum:
            self.fail(f"at most {self.maximum}, got {value!r}", param, ctx)
        return number


class Port(click.ParamType):  # type: ignore[type-arg]
    """A TCP port, 0 to 65535 (`--port`): the socket layer reads 70000 as 4464, and refuses -1
    with an internal error."""

    name = "port"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        number = _digits(value)
        if number is None or number > 65535:
            self.fail(f"expected a port from 0 to 65535, got {value!r}", param, ctx)
        return number


def _digits(value: Any) -> int | None:
    """``value`` as a number when it is one written in ASCII digits alone: `int()` also takes
    ` 2`, `+2`, `2_0` and digits of other scripts, which a count given on a command line never
    means."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


class Seconds(click.ParamType):  # type: ignore[type-arg]
    """A duration in seconds, more than none and less than a day (`--interval`, `--timeout`)."""

    name = "seconds"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        try:
            seconds = float(value)
        except ValueError:
            self.fail(f"expected a number of seconds, got {value!r}", param, ctx)
        if not 0 < seconds < LONGEST_SECONDS:
            self.fail(
                f"must be more than 0 and less than {LONGEST_SECONDS} seconds, not {value}",
                param,
                ctx,
            )
        return seconds


def repo_argument() -> click.Argument:
    """The optional REPO; `REPO_HELP` says what it is in the command's help (click lists options
    only)."""
    return click.Argument(["repo"], required=False, envvar=REPO_VARIABLE)


def env_option(help_text: str, *, required: bool = False) -> click.Option:
    return click.Option(
        ["--env"],
        metavar="ENV",
        required=required,
        envvar=ENV_VARIABLE,
        show_envvar=True,
        help=help_text,
        shell_complete=complete_environments,
    )


def format_option(choices: tuple[str, ...], *, envvar: str | None = None) -> click.Option:
    return click.Option(
        ["--format", "output_format"],
        type=click.Choice(choices),
        default="text",
        show_default=True,
        envvar=envvar,
        show_envvar=envvar is not None,
        help="output format",
    )


def kubernetes_version_option() -> click.Option:
    return click.Option(
        ["--kubernetes-version"],
        metavar="X.Y",
        help="the Kubernetes version whose built-in schemas judge built-in kinds (default: newest)",
    )


def complete_environments(
    ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[str]:
    """The estate's environment folders (the REPO already typed, else the one found upward)."""
    from compiler.errors import LlmopsError
    from compiler.load.estate import list_environments
    from compiler.load.tree import DirectoryTree
    from llmops.estate import find_estate_root

    try:
        names = list_environments(DirectoryTree(find_estate_root(ctx.params.get("repo"))))
    except (LlmopsError, OSError):
        return []
    return [name for name in names if name.startswith(incomplete)]


def complete_endpoints(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    """The ServingEndpoints of the environment already typed (`--env`, or `--from` of promote),
    else of every environment."""
    from compiler.errors import LlmopsError
    from compiler.load.tree import DirectoryTree
    from compiler.pipeline import validate_repository
    from llmops.estate import find_estate_root

    env = ctx.params.get("env") or ctx.params.get("source")
    try:
        estate = validate_repository(
            DirectoryTree(find_estate_root(ctx.params.get("repo"))), env
        ).estate
    except (LlmopsError, OSError):
        return []
    names = {
        manifest.name
        for environment in estate.environments
        for manifest in environment.of_kind("ServingEndpoint")
    }
    return [name for name in sorted(names) if name.startswith(incomplete)]


def endpoint_argument() -> click.Argument:
    """ENDPOINT: a ServingEndpoint's name (completed from the estate)."""
    return click.Argument(["endpoint"], shell_complete=complete_endpoints)
