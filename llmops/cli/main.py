"""`llmops`: the command group. Each command is `command` in its own module, llmops/cli/NAME.py,
imported only when that command runs (or is completed, or asked for `--help`): so `llmops validate`
never pays for git, kubernetes or aiohttp, and `llmops --help` imports no command at all."""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

from compiler.collector import collector_paused, command_ended, process_ends_with_command
from llmops import __version__
from llmops.cli import exit_codes
from llmops.pydantic_plugins import PLUGINS_VARIABLE, skip_plugin_discovery

# pydantic looks for plugins in every installed package's metadata the first time a model is built
# (10-40 ms here, the more packages the longer); llmops's models are its own and use none. A value
# the user set is kept. While plugins are off, the loader that would look for them (and import
# `importlib.metadata` to do so) is not imported either.
os.environ.setdefault(PLUGINS_VARIABLE, "__all__")
skip_plugin_discovery()

COMPLETE_VARIABLE = "_LLMOPS_COMPLETE"
DEBUG_VARIABLE = "LLMOPS_DEBUG"

# name -> what it does, in one line; the order of `llmops --help`. A command's own help starts with
# the same line (tests/cli/test_commands.py keeps them together).
COMMANDS: dict[str, str] = {
    "validate": "check manifests: schemas, references, approvals, policy",
    "audit": "validate, and audit approvals against git history (= validate --audit)",
    "render": "render Kubernetes objects (KServe, Ingress, Jobs, Argo CD)",
    "conform": "check Kubernetes objects against the upstream CRDs and Kubernetes schemas (strict)",
    "diff": "what a change does to the cluster (exit 1 when something changes)",
    "history": "the commits that changed an endpoint or what it depends on",
    "rollback": "commit an endpoint's manifest as it was before its last change",
    "promote": "prepare a branch promoting an endpoint to another environment",
    "status": "live status of endpoints, training jobs and Argo CD (exit 1 if Degraded or Missing)",
    "approve": "write an Approval of a model for an environment",
    "init": "create a new estate with dev, stg and prod",
    "schema": "write the JSON Schemas of every manifest kind",
    "rules": "list the rules, or explain one",
    "explain": "an endpoint's capacity arithmetic and where each input came from",
    "lineage": "a model's lineage: dataset -> job -> model -> endpoint, and its approvals",
    "cmp": "Argo CD config-management plugin (generate)",
    "proxy": "serve the platform API for one environment (chat, endpoints, A/B)",
    "chat": "send one chat message through a running proxy",
}

# Commands that build an estate, report or write it, and are done: run as a process of their own,
# the collector stays paused from their import to the process's end (compiler/collector.py), as no
# pass over what they built could free more than the end does. Servers and anything else resume it.
ONE_SHOT_COMMANDS = frozenset({"validate", "render", "cmp"})

EPILOG = f"""\b
Environment variables (an option given on the command line wins):
  LLMOPS_ENV     --env, for every command that has it
  LLMOPS_REPO    REPO, the estate
  LLMOPS_FORMAT  --format of validate, audit and conform
  {DEBUG_VARIABLE}   set: as --debug
  NO_COLOR       set: no colour in text output
  LLMOPS_SERVER  a socket's absolute path: validate, render and cmp run in a warm server
                 (README, "The warm server"); LLMOPS_SERVER_IDLE, LLMOPS_SERVER_WAIT
  LLMOPS_CACHE_DIR  --cache-dir of render and cmp (`off`: no render cache);
                 LLMOPS_CACHE_MAX_MB, the cache's size (default 1024)

\b
Shell completion (commands, options, environment and endpoint names):
  bash: eval "$({COMPLETE_VARIABLE}=bash_source llmops)"    (in ~/.bashrc)
  zsh:  eval "$({COMPLETE_VARIABLE}=zsh_source llmops)"     (in ~/.zshrc)
  fish: {COMPLETE_VARIABLE}=fish_source llmops > ~/.config/fish/completions/llmops.fish

`llmops COMMAND --help` for details."""


class LazyGroup(click.Group):
    """Knows its commands by name (`COMMANDS`); a command's module is imported only when that
    command is resolved."""

    # Set by `entrypoint` (a process of its own), not by `main` (tests run many commands in one
    # process): a command's imports are frozen out of the collector's passes as they finish.
    freeze_imports = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        # the modules, classes and spec schemas imported live as long as the process: the
        # collector's passes over them would find nothing to free
        with collector_paused(until_exit=cmd_name in ONE_SHOT_COMMANDS):
            command = importlib.import_module(f"llmops.cli.{cmd_name}").command
            if self.freeze_imports:
                # Else the first collection once the collector resumes walks every object the
                # imports made (all young, none garbage): 10-13 ms of a cold `llmops validate`.
                gc.freeze()
        assert isinstance(command, click.Command), cmd_name
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        written = args[0] if args else ""
        if written not in COMMANDS and not written.startswith("-"):
            import difflib

            close = difflib.get_close_matches(written, list(COMMANDS), n=1, cutoff=0.6)
            if close:
                ctx.fail(f"No such command {written!r}; did you mean {close[0]!r}?")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl(list(COMMANDS.items()))

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        from click.shell_completion import CompletionItem

        commands = [
            CompletionItem(name, help=summary)
            for name, summary in COMMANDS.items()
            if name.startswith(incomplete)
        ]
        return [*commands, *click.Command.shell_complete(self, ctx, incomplete)]


def _print_version(ctx: click.Context, _param: click.Parameter, wanted: bool) -> None:
    if wanted and not ctx.resilient_parsing:
        click.echo(f"llmops {__version__}")
        ctx.exit()


cli = LazyGroup(
    "llmops",
    help="A declarative GitOps compiler for LLM operations.",
    epilog=EPILOG,
    no_args_is_help=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    params=[
        click.Option(
            ["--version"],
            is_flag=True,
            expose_value=False,
            is_eager=True,
            callback=_print_version,
            help="Show the version and exit.",
        ),
        click.Option(["--debug"], is_flag=True, help="Show tracebacks of internal errors."),
    ],
)


def parse_arguments(argv: Sequence[str]) -> click.Context:
    """The context of the command `argv` names, parsed but not run.

    **Raises:** ``click.exceptions.Exit`` after `--help` or `--version`; ``click.UsageError`` for
    a command line that does not parse.
    """
    arguments = list(argv)
    # Before the command come only llmops's own flags: the first word that is no option names it.
    position = next(
        (i for i, arg in enumerate(arguments) if not arg.startswith("-")), len(arguments)
    )
    top = cli.make_context("llmops", arguments[: position + 1])
    if position == len(arguments):
        raise click.UsageError("missing a command; `llmops --help` lists them", ctx=top)
    name, command, _ = cli.resolve_command(top, [arguments[position]])
    assert name is not None and command is not None  # an unknown name raised NoSuchCommand
    return command.make_context(name, arguments[position + 1 :], parent=top)


def usage_error_line(error: click.UsageError) -> str:
    """One line: the command, the problem, and the command's usage."""
    context = error.ctx
    where = context.command_path if context is not None else "llmops"
    message = " ".join(error.format_message().split())
    line = f"{where}: error: {message[:1].lower()}{message[1:]}"
    if context is not None:
        line += f" (usage: {where} {' '.join(context.command.collect_usage_pieces(context))})"
    return line


# parameters naming files: the file system may hold names that are not UTF-8, and Python carries
# them through as surrogate escapes (`os.fsencode` gives the bytes back)
_PATH_PARAMETERS = frozenset(
    {"repo", "output", "directory", "config_path", "paths", "kubeconfig", "cache_dir"}
)


def _refuse_undecodable_text(context: click.Context) -> None:
    """Refuse a text argument holding bytes that are not UTF-8 (a `--notes` from a Latin-1
    terminal): it would reach a file, a commit or a request as text no UTF-8 writer can encode.
    **Raises:** ``click.BadParameter`` naming the option."""
    for parameter in context.command.params:
        name = parameter.name or ""
        values = context.params.get(name)
        if name in _PATH_PARAMETERS or values is None:
            continue
        for value in values if isinstance(values, tuple | list) else (values,):
            if isinstance(value, str) and not _encodable(value):
                raise click.BadParameter(
                    "not UTF-8 text (a byte that is no UTF-8 character)",
                    ctx=context,
                    param=parameter,
                    param_hint=_where_given(context, parameter),
                )


def _where_given(context: click.Context, parameter: click.Parameter) -> str:
    """The option as the error names it: with its variable only when the value came from there
    (click names the variable whenever the option has one, so `--env` typed on the command line
    read "(env var: 'LLMOPS_ENV')")."""
    from click.core import ParameterSource

    if context.get_parameter_source(parameter.name or "") is ParameterSource.ENVIRONMENT:
        return parameter.get_error_hint(context)
    if isinstance(parameter, click.Option):
        return " / ".join(f"'{option}'" for option in parameter.opts)
    return f"'{parameter.human_readable_name}'"


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _environment_from_variable(context: click.Context | None) -> str | None:
    """The `--env` a command took from `LLMOPS_ENV` (not written on its command line), if any."""
    from click.core import ParameterSource

    if context is None or context.get_parameter_source("env") is not ParameterSource.ENVIRONMENT:
        return None
    value = context.params.get("env")
    return value if isinstance(value, str) else None


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command in-process and return its exit code (tests call this directly)."""
    from compiler.errors import LlmopsError
    from compiler.printable import escape_controls

    debug = bool(os.environ.get(DEBUG_VARIABLE))
    context: click.Context | None = None
    try:
        context = parse_arguments(sys.argv[1:] if argv is None else argv)
        debug = debug or bool(context.find_root().params.get("debug"))
        _refuse_undecodable_text(context)
        with context:
            return int(context.command.invoke(context))
    except click.exceptions.Exit as stop:  # --help, --version
        return stop.exit_code
    except click.UsageError as error:
        print(escape_controls(usage_error_line(error)), file=sys.stderr)
        return exit_codes.USAGE
    except LlmopsError as error:
        print(
            f"llmops: error: {escape_controls(error.message, keep_newlines=True)}", file=sys.stderr
        )
        if error.hint:
            print(f"  hint: {escape_controls(error.hint, keep_newlines=True)}", file=sys.stderr)
        unseen = _environment_from_variable(context)
        if unseen is not None and f"`{unseen}`" in error.message:
            from llmops.cli.options import ENV_VARIABLE

            shown = escape_controls(f"{ENV_VARIABLE}={unseen}")
            print(
                f"  note: the environment came from {shown}, not the command line", file=sys.stderr
            )
        return exit_codes.USAGE
    except KeyboardInterrupt:
        print("llmops: interrupted", file=sys.stderr)
        return exit_codes.INTERRUPTED
    except BrokenPipeError:
        sys.stderr.close()
        return exit_codes.OK
    # the file system refused (a path that is a file, permissions, a full disk)
    except OSError as error:
        where = f" {error.filename}" if error.filename else ""
        print(
            escape_controls(f"llmops: error: cannot use{where}: {error.strerror or error}"),
            file=sys.stderr,
        )
        return exit_codes.USAGE
    except Exception as error:
        if debug:
            raise
        print(
            escape_controls(
                f"llmops: internal error ({type(error).__name__}: {error}). This is a bug in "
                "llmops; rerun with --debug for the traceback and report it.",
                keep_newlines=True,
            ),
            file=sys.stderr,
        )
        return exit_codes.BUG


def _use_utf8_streams() -> None:
    """Manifests are UTF-8; never crash printing them on a console configured for another
    encoding."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if encoding != "utf8" and hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="replace")


def output_written(code: int) -> int:
    """``code``, once what the command printed has left the process: flushed now, so a full disk
    or an output that cannot be written is the command's failure (said on stderr), not an error
    Python reports on its way out after the command succeeded. A reader that went away (`| head`)
    ends the command quietly, as `main` does when that happens while it prints."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _discard_standard_output()
        return code
    except OSError as error:
        _discard_standard_output()
        if code != exit_codes.OK:
            return code  # the command failed already, and said why (the same error, most often)
        with contextlib.suppress(OSError, ValueError):
            print(
                f"llmops: error: cannot write the output: {error.strerror or error}",
                file=sys.stderr,
            )
        return exit_codes.USAGE
    return code


def _discard_standard_error() -> None:
    """Standard error closed at the start: what would be said there goes nowhere, as the user
    chose. (Left as None, every `print(..., file=sys.stderr)` would print on standard output
    instead, into a render's objects.)"""
    null = os.open(os.devnull, os.O_WRONLY)
    if null != 2:
        os.dup2(null, 2)
        os.close(null)
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115


def _discard_standard_output() -> None:
    """Point standard output at the null device: what is still buffered is dropped on the way out
    instead of failing again there."""
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


def entrypoint() -> None:
    _use_utf8_streams()
    instruction = os.environ.get(COMPLETE_VARIABLE)
    if instruction:  # the shell asks for its completion script, or for completions
        from click.shell_completion import shell_complete

        raise SystemExit(shell_complete(cli, {}, "llmops", COMPLETE_VARIABLE, instruction))
    cli.freeze_imports = True
    process_ends_with_command()
    if sys.stderr is None:  # started with standard error closed (`2>&-`)
        _discard_standard_error()
    if sys.stdout is None:  # started with standard output closed (`>&-`)
        if sys.stderr is not None:
            print(
                "llmops: error: standard output is closed: nothing can be printed", file=sys.stderr
            )
        raise SystemExit(exit_codes.USAGE)
    from llmops.stream_output import whole_standard_output

    whole_standard_output()
    code = output_written(main())
    # The process ends: what the command built lives until then. Frozen, it is left out of the
    # garbage collections the interpreter runs on its way out, which would walk every object (the
    # modules, the spec models' schemas, the estate) to free nothing: tens of milliseconds, a
    # fifth of a cold `llmops validate`.
    command_ended()
    raise SystemExit(code)


if __name__ == "__main__":
    from llmops.cli.launch import serve_if_asked

    serve_if_asked()
    entrypoint()
