"""Diff: what changes between two states of an estate, and how `llmops diff` and `history` say
it."""
