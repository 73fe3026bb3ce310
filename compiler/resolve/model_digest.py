"""The digest an Approval pins: what the approver saw of the model, in canonical form."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from compiler.spec.base import Envelope
from compiler.spec.model import ModelManifest

DIGEST_EXCLUDED_FIELDS = frozenset({"status"})
# Spec fields added after approvals were first written: they enter the digest only when set, so a
# newer llmops does not void every approval of a model that does not use them.
ADDED_OPTIONAL_FIELDS = (("metadata", "preset"),)
ADDED_TOP_LEVEL_FIELDS = ("baseModel", "trainedBy")


def model_digest(model: Envelope, made_by: dict[str, Any] | None = None) -> str:
    """sha256 over the model's kind, name and spec (without `status`), as canonical JSON.

    Formatting, comments, key order and labels do not change it; any change to what would be
    deployed does. `status` is left out so that marking an approved model `approved` does not
    invalidate its own approval. ``made_by`` is what made a trained model (its job and that job's
    dataset, compiler/resolve/lineage.py): approving such a model approves how it was made, so a
    change to the job or the dataset changes the digest and voids the approval.
    """
    if not isinstance(model, ModelManifest):
        raise TypeError(f"only Model manifests have a digest, not {type(model).__name__}")
    spec = model.spec.model_dump(mode="json", by_alias=True, exclude=set(DIGEST_EXCLUDED_FIELDS))
    for parent, name in ADDED_OPTIONAL_FIELDS:
        if spec.get(parent, {}).get(name, "") is None:
            del spec[parent][name]
    for name in ADDED_TOP_LEVEL_FIELDS:
        if spec.get(name, "") is None:
            del spec[name]
    document: dict[str, Any] = {"kind": "Model", "name": model.metadata.name, "spec": spec}
    if made_by is not None:
        document["madeBy"] = made_by
    canonical = json.dumps(
        document,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
