"""Manifest models: the single source of truth for what a manifest may contain."""
