"""The one exception the edges catch: a problem that stops the whole command, not one manifest."""

from __future__ import annotations


class LlmopsError(Exception):
    """A fatal, expected problem (unreadable repository, unknown environment): exit code 2."""

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class UnrepresentableValue(ValueError):
    """A rendered value that no Kubernetes object or JSON document can hold (NaN, infinity). The
    schema stage refuses every such input, so meeting one in the output is a bug in llmops: the
    output path refuses it rather than write something invalid."""
