"""The one exception the edges catch: a problem that stops the whole command, not one manifest."""

from __future__ import annotations


class LlmopsError(Exception):
    """A fatal, expected problem (unreadable repository, unknown environment): exit code 2."""

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
