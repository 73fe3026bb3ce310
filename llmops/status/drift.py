"""Drift: does the live object still hold what the current revision renders?

The rule: every field we render must be present in the live object with an equal value. Mappings
are compared key by key (keys only the live object has are ignored: the API server, KServe's
webhook and Argo CD add their own, such as `status`, `uid`, defaults and tracking annotations);
lists must have the same length and match item by item under the same rule; scalars must be equal
(numbers by value, but `true` is not `1`). Only the parts of an object llmops owns are compared:
`spec`, and the labels and annotations it renders.
"""

from __future__ import annotations

from typing import Any

from compiler.positions import child_path
from llmops.status.model import Difference


def _same_scalar(rendered: Any, live: Any) -> bool:
    if isinstance(rendered, bool) or isinstance(live, bool):
        return type(rendered) is type(live) and rendered == live
    if isinstance(rendered, int | float) and isinstance(live, int | float):
        return rendered == live
    return type(rendered) is type(live) and bool(rendered == live)


def differences(rendered: Any, live: Any, path: str = "") -> list[Difference]:
    """Where ``live`` fails to hold ``rendered`` (see the module docstring), in rendered order."""
    found: list[Difference] = []
    _compare(rendered, live, path, found)
    return found


def _compare(rendered: Any, live: Any, path: str, found: list[Difference]) -> None:
    if isinstance(rendered, dict):
        if not isinstance(live, dict):
            found.append(Difference(path, rendered, live, in_live=True))
            return
        for key, value in rendered.items():
            if key in live:
                _compare(value, live[key], child_path(path, key), found)
            else:
                found.append(Difference(child_path(path, key), value, None, in_live=False))
    elif isinstance(rendered, list):
        if not isinstance(live, list) or len(live) != len(rendered):
            found.append(Difference(path, rendered, live, in_live=True))
            return
        for index, (item, live_item) in enumerate(zip(rendered, live, strict=True)):
            _compare(item, live_item, child_path(path, index), found)
    elif not _same_scalar(rendered, live):
        found.append(Difference(path, rendered, live, in_live=True))


def object_drift(rendered: dict[str, Any], live: dict[str, Any]) -> list[Difference]:
    """Drift of the parts llmops owns: rendered labels, annotations and the whole rendered spec."""
    found: list[Difference] = []
    rendered_metadata = rendered.get("metadata", {})
    live_metadata = live.get("metadata")
    if not isinstance(live_metadata, dict):
        live_metadata = {}
    for key in ("labels", "annotations"):
        if key in rendered_metadata:
            _compare(rendered_metadata[key], live_metadata.get(key) or {}, f"metadata.{key}", found)
    if "spec" in rendered:
        if "spec" in live:
            _compare(rendered["spec"], live["spec"], "spec", found)
        else:
            found.append(Difference("spec", rendered["spec"], None, in_live=False))
    return found
