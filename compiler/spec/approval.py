"""Approval: who approved which exact model manifest for one environment."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from compiler.spec.base import Envelope, StrictModel
from compiler.spec.formats import RoleName, UserId

DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"


class ApprovalSpec(StrictModel):
    model_id: str = Field(
        alias="modelId", description="The approved model: `name@version` or `name-version`."
    )
    status: Literal["approved", "rejected"] = Field(
        "approved",
        description=(
            "The original platform's status PATCH body; a rejected approval counts for nothing."
        ),
    )
    approved_by: UserId = Field(
        alias="approvedBy",
        description="Who approved (the user id). Ids that differ only in case or Unicode form "
        "(`Alice`, `alice`) are one person.",
    )
    role: RoleName = Field(
        description="The approver's role; the environment lists the roles that may approve."
    )
    model_digest: str = Field(
        alias="modelDigest",
        pattern=DIGEST_PATTERN,
        description="Digest of the approved model manifest (`llmops approve` computes it). "
        "Editing the model afterwards invalidates the approval.",
    )
    environment: str | None = Field(
        None, description="When given, must equal the environment folder."
    )
    notes: str | None = Field(None, description="Free text for people.")


class ApprovalManifest(Envelope):
    kind: Literal["Approval"]
    spec: ApprovalSpec
