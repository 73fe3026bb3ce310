"""The digest an Approval pins: what the approver saw of the model, in canonical form."""

from __future__ import annotations

import hashlib
import json

from compiler.spec.base import Envelope
from compiler.spec.model import ModelManifest

DIGEST_EXCLUDED_FIELDS = frozenset({"status"})
# Spec fields added after approvals were first written: they enter the digest only when set, so a
# newer llmops does not void every approval of a model that does not use them.
ADDED_OPTIONAL_FIELDS = (("metadata", "preset"),)


def model_digest(model: Envelope) -> str:
    """sha256 over the model's kind, name and spec (without `status`), as canonical JSON.

    Formatting, comments, key order and labels do not change it; any change to what would be
    deployed does. `status` is left out so that marking an approved model `approved` does not
    invalidate its own approval.
    """
    if not isinstance(model, ModelManifest):
        raise TypeError(f"only Model manifests have a digest, not {type(model).__name__}")
    spec = model.spec.model_dump(mode="json", by_alias=True, exclude=set(DIGEST_EXCLUDED_FIELDS))
    for parent, name in ADDED_OPTIONAL_FIELDS:
        if spec.get(parent, {}).get(name, "") is None:
            del spec[parent][name]
    canonical = json.dumps(
        {"kind": "Model", "name": model.metadata.name, "spec": spec},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
