"""Checks: schema validation and the rules that run on a resolved estate."""
