"""PromptTemplate and PromptExperiment: the original platform's A/B experiment bodies."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from compiler.spec.base import Envelope, StrictModel
from compiler.spec.formats import VersionLabel


class PromptTemplateSpec(StrictModel):
    name: str | None = Field(None, description="When given, must equal metadata.name.")
    version: VersionLabel | None = Field(
        None, description="Version label, e.g. `v1.0`; the original platform's is free-form."
    )
    description: str | None = Field(None, description="Free text for people.")
    template: str = Field(
        description="The system prompt text. `{{ name }}` placeholders are filled from `variables`."
    )
    variables: dict[str, str] = Field(
        default_factory=dict, description="Placeholder names and default values."
    )


class PromptExperimentSpec(StrictModel):
    template_a_id: str = Field(alias="templateAId", description="PromptTemplate name of variant A.")
    template_b_id: str = Field(alias="templateBId", description="PromptTemplate name of variant B.")
    allocation: int = Field(
        ge=0, le=100, description="Percentage of users served variant A; the rest get B."
    )
    metric: Literal["latency_ms", "error_rate", "output_tokens", "user_feedback"] = Field(
        description="What decides the winner."
    )
    endpoint: str | None = Field(None, description="ServingEndpoint the experiment runs on.")
    winner_template_id: str | None = Field(
        None,
        alias="winnerTemplateId",
        description="The original platform's conclude body: set to end the experiment.",
    )
    notes: str | None = Field(None, description="Why the winner won.")

    @property
    def is_running(self) -> bool:
        """An experiment runs until it is concluded with a winner."""
        return self.winner_template_id is None


class PromptTemplateManifest(Envelope):
    kind: Literal["PromptTemplate"]
    spec: PromptTemplateSpec


class PromptExperimentManifest(Envelope):
    kind: Literal["PromptExperiment"]
    spec: PromptExperimentSpec
