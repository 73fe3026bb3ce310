"""Emit: rendered objects to deterministic YAML text, and where each file goes on disk."""
