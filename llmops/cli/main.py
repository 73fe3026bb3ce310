"""The only argument parser. Each subcommand is a plain function in its own module, imported on use."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from llmops import __version__
from llmops.cli import exit_codes

FORMATS = ("text", "json", "github", "sarif", "junit")


def _add_repo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("repo", nargs="?", metavar="REPO",
                        help="the estate (a directory with environments/); default: the nearest one upward")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llmops", description="A declarative GitOps compiler for LLM operations.")
    parser.add_argument("--version", action="version", version=f"llmops {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    validate = commands.add_parser("validate", help="check manifests: schemas, references, policy")
    _add_repo(validate)
    validate.add_argument("--env", help="only this environment (plus _shared)")
    validate.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    validate.add_argument("--warnings-as-errors", action="store_true", help="fail on warnings too")

    approve = commands.add_parser("approve", help="write an Approval of a model for an environment")
    approve.add_argument("model", metavar="MODEL@VERSION")
    approve.add_argument("--env", required=True)
    approve.add_argument("--by", required=True, help="the approver's user id")
    approve.add_argument("--role", required=True, help="the approver's role")
    approve.add_argument("--notes", help="why it was approved")
    _add_repo(approve)

    init = commands.add_parser("init", help="create a new estate with dev, stg and prod")
    init.add_argument("directory", nargs="?", default=".", metavar="DIR")

    schema = commands.add_parser("schema", help="write the JSON Schemas of every manifest kind")
    schema.add_argument("--output", default="schemas", metavar="DIR", help="default: schemas")
    schema.add_argument("--check", action="store_true", help="write nothing; exit 1 if DIR is out of date")

    rules = commands.add_parser("rules", help="list the rules, or explain one")
    rules.add_argument("code", nargs="?", metavar="CODE")
    rules.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    return parser


def run(args: argparse.Namespace) -> int:
    if args.command == "validate":
        from llmops.cli.validate import validate

        return validate(args.repo, args.env, args.format, args.warnings_as_errors)
    if args.command == "approve":
        from llmops.cli.approve import approve

        return approve(args.repo, args.model, args.env, args.by, args.role, args.notes)
    if args.command == "init":
        from llmops.cli.init import init

        return init(args.directory)
    if args.command == "schema":
        from llmops.cli.schema import schema

        return schema(args.output, args.check)
    if args.command == "rules":
        from llmops.cli.rules import rules

        return rules(args.code, args.format)
    raise AssertionError(f"command {args.command!r} has no handler")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command in-process and return its exit code (tests call this directly)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse: --help, --version, or a usage error
        return int(stop.code or 0)
    from compiler.errors import LlmopsError

    try:
        return run(args)
    except LlmopsError as error:
        print(f"llmops: error: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"  hint: {error.hint}", file=sys.stderr)
        return exit_codes.USAGE
    except KeyboardInterrupt:
        print("llmops: interrupted", file=sys.stderr)
        return exit_codes.INTERRUPTED
    except BrokenPipeError:
        sys.stderr.close()
        return exit_codes.OK
    except Exception as error:  # noqa: BLE001 - the last line of defence: no traceback for users
        if args.debug or os.environ.get("LLMOPS_DEBUG"):
            raise
        print(f"llmops: internal error ({type(error).__name__}: {error}). This is a bug in llmops; "
              "rerun with --debug for the traceback and report it.", file=sys.stderr)
        return exit_codes.BUG


def entrypoint() -> None:
    raise SystemExit(main())


if __name__ == "__main__":
    entrypoint()
