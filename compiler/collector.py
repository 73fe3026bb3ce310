"""The cyclic garbage collector paused while a command builds what it keeps: a module of its own,
so a command served from the render cache pauses it without importing the compiler's stages."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

# Set by the process's entry point when the process ends with the command it runs (never when a
# command runs in a process that goes on: tests, a server).
_process_ends = False
# a pause that ended with the collector left paused until the process ends
_left_paused = False


@contextlib.contextmanager
def collector_paused(*, until_exit: bool = False) -> Iterator[None]:
    """Pause the cyclic garbage collector while the estate is built (and, in `llmops render`,
    rendered, kept in the cache and written out: with the estate on the heap, each pass after
    the render cost as much again, about 0.5 s of a 2.3 s one-file change of 1,000 x 3 endpoints).

    What a run allocates is either kept (documents, manifests, diagnostics, rendered objects) or
    freed by reference counting (YAML node graphs), so the collector's passes over the growing heap
    find nothing, yet they cost a quarter of a large run (0.34 s of 1.27 s for 1,000 endpoints in
    one environment). Any cycle (a recursive alias) is only collected later, once the collector is
    resumed. Nested uses keep it paused until the outermost one ends.

    ``until_exit``: when the process ends with this command (`process_ends_with_command`), the
    collector stays paused after the pause ends: resumed, its first pass would walk everything the
    command allocated (0.2 s after a render of 1,000 endpoints, 0.35 s after one of 1,000 x 3)
    only to free what the process's end frees anyway.
    """
    global _left_paused
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if until_exit and _process_ends:
                _left_paused = True
            else:
                gc.enable()


def process_ends_with_command() -> None:
    """Called by the entry point of a process that runs one command and ends."""
    global _process_ends
    _process_ends = True


def serving_settled() -> None:
    """A serving command (`llmops proxy`) has built what it keeps for the rest of the process: when
    the process ends with the command, freeze it (left out of every pass), so a full collection
    under load walks what the requests made, not every module and the configuration, and stops no
    request in flight for long. Not in a process that goes on (a test): what it froze would never
    be collected."""
    if _process_ends:
        gc.freeze()


def command_ended() -> None:
    """The command is over: its objects are frozen (left out of every pass) before the collector is
    resumed, so resuming it costs nothing."""
    global _process_ends, _left_paused
    gc.freeze()
    _process_ends = False
    if _left_paused:
        _left_paused = False
        gc.enable()
