"""Starting a command as a terminal would, for the tests that press Ctrl-C."""

from __future__ import annotations

import signal


def ctrl_c_reaches_it() -> None:
    """``preexec_fn`` of a command a test interrupts: SIGINT as a terminal leaves it. A shell's
    background job (`make test &`, a CI runner's) ignores SIGINT, its children inherit that, and
    Python keeps a SIGINT it finds ignored: the command would never see the test's Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
