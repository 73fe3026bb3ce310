"""The only argument parser. Each subcommand is a plain function in its own module, imported on
use."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from llmops import __version__
from llmops.cli import exit_codes

FORMATS = ("text", "json", "github", "sarif", "junit")


def _add_repo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "repo",
        nargs="?",
        metavar="REPO",
        help="the estate (a directory with environments/); default: the nearest one upward",
    )


def _validate_parser(parser: argparse.ArgumentParser) -> None:
    _add_repo(parser)
    parser.add_argument("--env", help="only this environment (plus _shared)")
    parser.add_argument(
        "--format", choices=FORMATS, default="text", help="output format (default: text)"
    )
    parser.add_argument("--warnings-as-errors", action="store_true", help="fail on warnings too")
    parser.add_argument(
        "--audit",
        action="store_true",
        help="also audit approvals against git history (rules G001-G004)",
    )


def _audit_parser(parser: argparse.ArgumentParser) -> None:
    _validate_parser(parser)
    parser.set_defaults(audit=True)


def _render_parser(parser: argparse.ArgumentParser) -> None:
    _add_repo(parser)
    parser.add_argument("--env", help="only this environment (no Argo CD objects)")
    parser.add_argument(
        "-o", "--output", metavar="DIR", help="write one file per object under DIR/<env>/"
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if DIR differs")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="also check every object against the upstream CRDs and Kubernetes schemas, as "
        "`llmops conform` does (exit 1 if the API server would refuse one)",
    )
    _add_kubernetes_version(parser)


def _add_kubernetes_version(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kubernetes-version",
        metavar="X.Y",
        help="the Kubernetes version whose built-in schemas judge built-in kinds (default: newest)",
    )


def _conform_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="YAML files, directories of them, or - (stdin)"
    )
    parser.add_argument(
        "--format", choices=FORMATS, default="text", help="output format (default: text)"
    )
    _add_kubernetes_version(parser)


def _diff_parser(parser: argparse.ArgumentParser) -> None:
    _add_repo(parser)
    parser.add_argument(
        "--base", required=True, metavar="REV", help="the revision to compare against"
    )
    parser.add_argument("--head", metavar="REV", help="default: the working tree")
    parser.add_argument("--env", help="only this environment")
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text")


def _history_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("endpoint", metavar="ENDPOINT")
    parser.add_argument("--env", required=True)
    _add_repo(parser)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "-n", "--max-count", type=_positive, metavar="N", help="show at most N commits"
    )


def _rollback_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("endpoint", metavar="ENDPOINT")
    parser.add_argument("--env", required=True)
    _add_repo(parser)
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--to", metavar="REV", help="restore the endpoint as it was at REV")
    target.add_argument(
        "--steps",
        type=_positive,
        default=1,
        metavar="N",
        help="undo the endpoint's last N manifest changes (default: 1)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would change; commit nothing"
    )


def _promote_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("endpoint", metavar="ENDPOINT")
    parser.add_argument("--from", dest="source", required=True, metavar="ENV")
    parser.add_argument("--to", dest="target", required=True, metavar="ENV")
    _add_repo(parser)
    parser.add_argument("--branch", metavar="NAME", help="default: promote/ENDPOINT-FROM-to-TO")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _explain_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("endpoint", metavar="ENDPOINT", help="the ServingEndpoint's name")
    parser.add_argument("--env", required=True, help="the environment it is deployed in")
    _add_repo(parser)
    parser.add_argument("--format", choices=("text", "json"), default="text")


def _cmp_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action", choices=("generate",), help="generate: print the environment's objects"
    )
    _add_repo(parser)


def _approve_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL@VERSION")
    parser.add_argument("--env", required=True)
    parser.add_argument("--by", required=True, help="the approver's user id")
    parser.add_argument("--role", required=True, help="the approver's role")
    parser.add_argument("--notes", help="why it was approved")
    _add_repo(parser)


def _init_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", nargs="?", default=".", metavar="DIR")


def _schema_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", default="schemas", metavar="DIR", help="default: schemas")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if DIR is out of date"
    )


def _rules_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("code", nargs="?", metavar="CODE")
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text")


def _positive_seconds(text: str) -> float:
    value = float(text)
    if not 0 < value < 86400:
        raise argparse.ArgumentTypeError(
            f"must be more than 0 and less than 86400 seconds, not {text}"
        )
    return value


def _status_parser(parser: argparse.ArgumentParser) -> None:
    _add_repo(parser)
    parser.add_argument("--env", help="only this environment")
    parser.add_argument(
        "--kubeconfig", metavar="PATH", help="default: KUBECONFIG, else ~/.kube/config"
    )
    parser.add_argument(
        "--context", metavar="NAME", help="kubeconfig context (default: the current one)"
    )
    parser.add_argument(
        "-o", "--output", choices=("table", "json"), default="table", help="default: table"
    )
    parser.add_argument(
        "--watch", action="store_true", help="poll again every --interval seconds until Ctrl-C"
    )
    parser.add_argument(
        "--interval",
        type=_positive_seconds,
        default=5.0,
        metavar="SECONDS",
        help="with --watch (default: 5)",
    )
    # stop after N polls (tests)
    parser.add_argument("--watch-count", type=_positive, help=argparse.SUPPRESS)


def _proxy_parser(parser: argparse.ArgumentParser) -> None:
    _add_repo(parser)
    parser.add_argument("--env", help="the environment to serve (rendered from the manifests)")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="serve this proxy.json (the rendered ConfigMap's file) "
        "instead of rendering the manifests",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8000,
        help="port to listen on; 0 picks a free one (default: 8000)",
    )
    parser.add_argument(
        "--backend",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="send endpoint NAME to URL instead of its in-cluster address (repeatable; also "
        "LLMOPS_PROXY_BACKEND_<NAME>=URL)",
    )
    parser.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=300.0,
        metavar="SECONDS",
        help="longest wait for a whole answer or a stream's first piece (default: 300)",
    )
    parser.add_argument(
        "--stream-idle-timeout",
        type=_positive_seconds,
        default=60.0,
        metavar="SECONDS",
        help="longest pause inside a stream (default: 60)",
    )
    parser.add_argument(
        "--max-connections",
        type=_positive,
        default=1000,
        metavar="N",
        help="client connections held open; at the cap the longest idle one is closed (default: "
        "1000, lowered to fit the open-file limit)",
    )


def _chat_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("endpoint", metavar="ENDPOINT", help="the endpoint's route name")
    parser.add_argument("message", metavar="MESSAGE")
    parser.add_argument("--env", required=True, help="the environment the proxy must be serving")
    parser.add_argument(
        "--url", help="the proxy (default: $LLM_OPS_API_BASE_URL or http://127.0.0.1:8000)"
    )
    parser.add_argument("--user", help="X-User-Id (default: $LLM_OPS_USER_ID or admin)")
    parser.add_argument(
        "--roles", help="X-User-Roles (default: $LLM_OPS_USER_ROLES or admin,llm-ops-user)"
    )
    parser.add_argument("--system", help="a system message to send first")
    parser.add_argument("--max-tokens", type=int)
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--stream", action="store_true", help="print the answer as it is generated")
    parser.add_argument(
        "--json", action="store_true", help="print the whole chat completion as JSON"
    )


# name -> (one-line help, function adding the arguments); the order is the order of `llmops --help`.
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None]]] = {
    "validate": ("check manifests: schemas, references, approvals, policy", _validate_parser),
    "audit": (
        "validate, and audit approvals against git history (= validate --audit)",
        _audit_parser,
    ),
    "render": ("render Kubernetes objects (KServe, Ingress, Jobs, Argo CD)", _render_parser),
    "conform": (
        "check Kubernetes objects against the upstream CRDs and Kubernetes schemas (strict)",
        _conform_parser,
    ),
    "diff": ("what a change does to the cluster (exit 1 when something changes)", _diff_parser),
    "history": ("the commits that changed an endpoint or what it depends on", _history_parser),
    "rollback": (
        "commit an endpoint's manifest as it was before its last change",
        _rollback_parser,
    ),
    "promote": ("prepare a branch promoting an endpoint to another environment", _promote_parser),
    "status": (
        "live status of endpoints, training jobs and Argo CD (exit 1 if Degraded or Missing)",
        _status_parser,
    ),
    "approve": ("write an Approval of a model for an environment", _approve_parser),
    "init": ("create a new estate with dev, stg and prod", _init_parser),
    "schema": ("write the JSON Schemas of every manifest kind", _schema_parser),
    "rules": ("list the rules, or explain one", _rules_parser),
    "explain": (
        "an endpoint's capacity arithmetic and where each input came from",
        _explain_parser,
    ),
    "cmp": ("Argo CD config-management plugin (generate)", _cmp_parser),
    "proxy": ("serve the platform API for one environment (chat, endpoints, A/B)", _proxy_parser),
    "chat": ("send one chat message through a running proxy", _chat_parser),
}


def build_parser() -> argparse.ArgumentParser:
    listing = "\n".join(f"  {name:<10} {help_text}" for name, (help_text, _) in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="llmops",
        description="A declarative GitOps compiler for LLM operations.",
        epilog=f"commands:\n{listing}\n\n`llmops COMMAND --help` for details.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"llmops {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    parser.add_argument("command", choices=list(COMMANDS), metavar="COMMAND")
    return parser


def command_parser(name: str) -> argparse.ArgumentParser:
    """A parser per command, so options and positionals may come in any order (`approve M --env E
    REPO`)."""
    help_text, add_arguments = COMMANDS[name]
    parser = argparse.ArgumentParser(prog=f"llmops {name}", description=help_text)
    add_arguments(parser)
    return parser


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    arguments = list(argv)
    top = build_parser()
    position = next(
        (i for i, arg in enumerate(arguments) if not arg.startswith("-")), len(arguments)
    )
    namespace = top.parse_args(arguments[: position + 1])
    command = command_parser(namespace.command).parse_intermixed_args(arguments[position + 1 :])
    command.command, command.debug = namespace.command, namespace.debug
    return command


def run(args: argparse.Namespace) -> int:
    if args.command in ("validate", "audit"):
        from llmops.cli.validate import validate

        return validate(args.repo, args.env, args.format, args.warnings_as_errors, args.audit)
    if args.command == "render":
        from llmops.cli.render import render

        return render(
            args.repo, args.env, args.output, args.check, args.verify, args.kubernetes_version
        )
    if args.command == "conform":
        from llmops.cli.conform import conform

        return conform(args.paths, args.format, args.kubernetes_version)
    if args.command == "diff":
        from llmops.cli.diff import diff

        return diff(args.repo, args.base, args.head, args.env, args.format)
    if args.command == "history":
        from llmops.cli.history import history

        return history(args.repo, args.endpoint, args.env, args.format, args.max_count)
    if args.command == "rollback":
        from llmops.cli.rollback import rollback

        return rollback(args.repo, args.endpoint, args.env, args.to, args.steps, args.dry_run)
    if args.command == "promote":
        from llmops.cli.promote import promote

        return promote(args.repo, args.endpoint, args.source, args.target, args.branch)
    if args.command == "cmp":
        from llmops.cli.cmp import cmp_generate

        return cmp_generate(args.repo)
    if args.command == "status":
        from llmops.cli.status import status

        return status(
            args.repo,
            args.env,
            args.kubeconfig,
            args.context,
            args.output,
            args.watch,
            args.interval,
            args.watch_count,
        )
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
    if args.command == "explain":
        from llmops.cli.explain import explain

        return explain(args.endpoint, args.env, args.repo, args.format)

    if args.command == "proxy":
        from llmops.cli.proxy import proxy

        return proxy(
            args.repo,
            args.env,
            args.config,
            args.host,
            args.port,
            args.backend,
            args.timeout,
            args.stream_idle_timeout,
            args.max_connections,
        )
    if args.command == "chat":
        from llmops.cli.chat import ChatRequest, chat

        return chat(
            ChatRequest(
                endpoint=args.endpoint,
                env=args.env,
                message=args.message,
                url=args.url,
                user=args.user,
                roles=args.roles,
                system=args.system,
                max_tokens=args.max_tokens,
                temperature=args.temperature,
                stream=args.stream,
                raw=args.json,
            )
        )
    raise AssertionError(f"command {args.command!r} has no handler")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command in-process and return its exit code (tests call this directly)."""
    try:
        args = parse_arguments(sys.argv[1:] if argv is None else argv)
    except SystemExit as stop:  # argparse: --help, --version, or a usage error
        return int(stop.code or 0)
    from compiler.errors import LlmopsError
    from compiler.printable import escape_controls

    try:
        return run(args)
    except LlmopsError as error:
        print(
            f"llmops: error: {escape_controls(error.message, keep_newlines=True)}", file=sys.stderr
        )
        if error.hint:
            print(f"  hint: {escape_controls(error.hint, keep_newlines=True)}", file=sys.stderr)
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
        if args.debug or os.environ.get("LLMOPS_DEBUG"):
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


def entrypoint() -> None:
    _use_utf8_streams()
    raise SystemExit(main())


if __name__ == "__main__":
    entrypoint()
