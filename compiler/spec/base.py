"""The manifest envelope and the strict base every spec model shares."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

API_VERSION = "llmops.io/v1"


def empty_list() -> list[Any]:
    """The default of a list field. Not the builtin `list`: pydantic reads every factory's
    signature, and reading a builtin's compiles the tokenizer's regular expressions (milliseconds
    of every start of `llmops validate`)."""
    return []


class StrictModel(BaseModel):
    """Unknown fields are errors and no value is coerced: a number is never silently a string. NaN
    and infinity are no number of anything (and JSON cannot carry them), so no field accepts
    them."""

    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, populate_by_name=False, allow_inf_nan=False
    )


class Metadata(StrictModel):
    name: str = Field(
        description="Name of the object; unique per kind (and version) in an environment. "
        "A Kubernetes DNS label: lowercase letters, digits and '-'."
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="Copied onto rendered objects."
    )
    annotations: dict[str, str] = Field(
        default_factory=dict, description="Free-form notes for people and tools."
    )


class Envelope(StrictModel):
    api_version: Literal["llmops.io/v1"] = Field(
        alias="apiVersion", description="Always `llmops.io/v1`."
    )
    metadata: Metadata
