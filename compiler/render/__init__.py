"""Rendering: resolved environments to Kubernetes objects (plain dicts), one small backend per
target."""
