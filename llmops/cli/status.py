"""`llmops status`: is each endpoint really serving what the current revision says?

The estate is validated and rendered once (the working tree is the revision compared against);
then each poll reads the rendered objects' live counterparts and judges them. One poll, or with
`--watch` one per interval until Ctrl-C (exit 130, as everywhere in the CLI).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

import click

from compiler.diagnostics import Severity
from compiler.load.tree import DirectoryTree
from compiler.pipeline import validate_repository
from compiler.printable import escape_controls
from llmops.cli import exit_codes, options
from llmops.estate import find_estate_root
from llmops.extras import missing_extra
from llmops.reporting import print_report
from llmops.status.collect import collect_status
from llmops.status.model import StatusReport
from llmops.status.output import format_json, format_table
from llmops.status.targets import EnvironmentTarget, estate_targets

DEFAULT_INTERVAL_SECONDS = 5.0
CLEAR_SCREEN = "\x1b[H\x1b[2J"


def _colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


def report_exit_code(report: StatusReport) -> int:
    return exit_codes.FAILED if report.failing else exit_codes.OK


def _targets(repo: str | None, env: str | None) -> list[EnvironmentTarget] | None:
    """What the working tree renders; None (after printing the diagnostics) when it has errors."""
    result = validate_repository(DirectoryTree(find_estate_root(repo)), env)
    errors = [d for d in result.diagnostics if d.severity is Severity.ERROR]
    if errors:
        print_report(result.diagnostics, result, "text", sys.stderr)
        print(
            f"llmops: the estate has {len(errors)} error(s); status compares the cluster with "
            "what a valid revision renders",
            file=sys.stderr,
        )
        return None
    return estate_targets(result.estate)


def _show(report: StatusReport, output_format: str, watching: bool, interval: float) -> None:
    out = sys.stdout
    if output_format == "json":
        out.write(format_json(report, compact=watching))
    else:
        colour = _colour(out)
        if watching:
            out.write(CLEAR_SCREEN if out.isatty() else "")
            out.write(
                f"every {interval:g}s: llmops status  "
                f"{datetime.now().astimezone():%Y-%m-%d %H:%M:%S %z}  (Ctrl-C to stop)\n\n"
            )
        out.write(format_table(report, colour=colour))
        if watching and not out.isatty():
            out.write("\n")
    out.flush()


def watch_loop(
    poll: Callable[[], StatusReport],
    show: Callable[[StatusReport], None],
    interval: float,
    count: int | None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Poll, show, sleep, until ``count`` polls (None: until Ctrl-C). The exit code is the last
    poll's.

    A cluster error on the first poll ends the command (the configuration is wrong); on a later
    poll it is printed and the watch goes on (the cluster may be back at the next interval).
    """
    from llmops.cluster.client import ClusterError

    polls, code = 0, exit_codes.OK
    while True:
        try:
            report = poll()
        except ClusterError as error:
            if polls == 0:
                raise
            print(
                escape_controls(f"llmops: error: {error.message}", keep_newlines=True),
                file=sys.stderr,
            )
            code = exit_codes.USAGE
        else:
            show(report)
            code = report_exit_code(report)
        polls += 1
        if count is not None and polls >= count:
            return code
        sleep(interval)


def status(
    *,
    repo: str | None,
    env: str | None,
    kubeconfig: str | None,
    context: str | None,
    output_format: str,
    watch: bool,
    interval: float,
    watch_count: int | None,
) -> int:
    targets = _targets(repo, env)
    if targets is None:
        return exit_codes.USAGE
    try:
        from llmops.cluster.client import connect
    except ImportError as error:  # installed without the `status` extra
        raise missing_extra(error, "status", "llmops status") from None
    cluster = connect(kubeconfig, context)
    try:

        def poll() -> StatusReport:
            return collect_status(targets, cluster.read)

        if not watch:
            report = poll()
            _show(report, output_format, False, interval)
            return report_exit_code(report)
        return watch_loop(
            poll, lambda report: _show(report, output_format, True, interval), interval, watch_count
        )
    finally:
        cluster.close()


command = click.Command(
    "status",
    callback=status,
    help="live status of endpoints, training jobs and Argo CD (exit 1 if Degraded or Missing)\n\n"
    "Compares the cluster with what the working tree renders. Exit 2: usage error, an estate "
    "with errors, or a cluster that cannot be read; 130: Ctrl-C.\n\n" + options.REPO_HELP,
    params=[
        options.repo_argument(),
        options.env_option("only this environment"),
        click.Option(
            ["--kubeconfig"], metavar="PATH", help="default: KUBECONFIG, else ~/.kube/config"
        ),
        click.Option(
            ["--context"], metavar="NAME", help="kubeconfig context (default: the current one)"
        ),
        click.Option(
            ["-o", "--output", "output_format"],
            type=click.Choice(("table", "json")),
            default="table",
            show_default=True,
            help="output format",
        ),
        click.Option(
            ["--watch"], is_flag=True, help="poll again every --interval seconds until Ctrl-C"
        ),
        click.Option(
            ["--interval"],
            type=options.Seconds(),
            default=DEFAULT_INTERVAL_SECONDS,
            metavar="SECONDS",
            show_default=True,
            help="with --watch",
        ),
        # stop after N polls (tests)
        click.Option(["--watch-count"], type=options.WholeNumber(), hidden=True),
    ],
)
