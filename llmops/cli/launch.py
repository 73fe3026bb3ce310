"""The `llmops` program's entry point: a command the warm server can run goes there when
``$LLMOPS_SERVER`` asks for it (before the command line is even imported), everything else runs
here (`llmops.cli.main`)."""

from __future__ import annotations

import os
import sys

SERVER_VARIABLE = "LLMOPS_SERVER"  # llmops.warm.wire.SERVER_VARIABLE


def serve_if_asked() -> None:
    """Exit with the server's code when it ran the command; return when it is to run here."""
    if os.environ.get(SERVER_VARIABLE):
        from llmops.warm.client import served_exit_code

        code = served_exit_code(sys.argv[1:])
        if code is not None:
            raise SystemExit(code)


def entrypoint() -> None:
    try:
        serve_if_asked()
        from llmops.cli.main import entrypoint as run_here
    except KeyboardInterrupt:  # Ctrl-C while starting: said as a command says it
        print("llmops: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    run_here()
