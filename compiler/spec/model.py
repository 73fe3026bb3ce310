"""Model: the original platform's `POST /catalog/models` body, plus the facts capacity checks
need."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from compiler.capacity.presets import PRESETS
from compiler.spec.base import Envelope, StrictModel
from compiler.spec.formats import StorageUri, VersionLabel
from compiler.spelling import closest_name

ModelStatus = Literal["draft", "approved", "deprecated", "rejected"]
Dtype = Literal["float32", "fp32", "bfloat16", "bf16", "float16", "fp16", "fp8", "int8", "int4"]
# `7B` and `7b` alike: model cards and hub names write both (`Llama-2-7b`, `pythia-70m`)
PARAMETERS_FORM = re.compile(r"[0-9]{1,6}(\.[0-9]{1,6})?[KMBT]", re.IGNORECASE)
PARAMETERS_SCALE = {"K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}
MAX_PARAMETERS = 10**14  # 100T: far beyond the largest published model
MAX_CONTEXT_TOKENS = 10_000_000  # the longest context windows published are about 10M tokens


class ModelMetadata(StrictModel):
    architecture: str | None = Field(None, description="e.g. `transformer`.")
    parameters: int | str | None = Field(
        None,
        json_schema_extra={"minimum": 1, "maximum": MAX_PARAMETERS},
        description="Parameter count: an integer or the original platform's form such as "
        "`7B`, `1.5B`, `350M` (K, M, B or T in either case: `7b` is `7B`); at least 1 and at most "
        "100T.",
    )
    framework: str | None = Field(None, description="e.g. `pytorch`.")
    model_family: str | None = Field(
        None,
        description="e.g. `llama`, `mistral`, `qwen2`. Endpoints and training "
        "jobs that name a family must agree with it.",
    )
    preset: str | None = Field(
        None,
        json_schema_extra={"enum": [*PRESETS, None]},
        description=(
            "A well-known public model this one is or derives from (family and size), whose "
            "published config.json supplies the capacity facts not written here: parameters, "
            "layers, attention and KV heads, head size, context length. Facts written here win; "
            "`llmops explain` shows where each one came from. One of: " + ", ".join(PRESETS) + "."
        ),
    )
    description: str | None = Field(None, description="Free text for people.")
    context_length: int | None = Field(
        None,
        ge=1,
        le=MAX_CONTEXT_TOKENS,
        description=(
            "Maximum sequence length in tokens the model supports; input plus output tokens of an "
            "endpoint must fit in it."
        ),
    )
    dtype: Dtype | None = Field(None, description="Weight data type when served.")
    quantization: Literal["none", "fp8", "int8", "int4", "awq", "gptq"] | None = Field(
        None, description="Weight quantization, if any."
    )
    num_layers: int | None = Field(
        None, ge=1, le=1000, description="Transformer layers (config.json `num_hidden_layers`)."
    )
    num_attention_heads: int | None = Field(
        None,
        ge=1,
        le=1024,
        description="Attention heads; the GPUs of one replica "
        "(the tensor-parallel size) must divide them.",
    )
    num_kv_heads: int | None = Field(
        None,
        ge=1,
        le=1024,
        description=(
            "Key/value heads (`num_key_value_heads`; fewer than the attention heads with "
            "grouped-query attention). Sizes the KV cache."
        ),
    )
    head_dim: int | None = Field(None, ge=1, le=1024, description="Size of one attention head.")
    hidden_size: int | None = Field(
        None,
        ge=1,
        le=131_072,
        description="Model width; head_dim = hidden_size / heads if head_dim is not given.",
    )

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, value: str | None) -> str | None:
        if value is not None and value not in PRESETS:
            suggestion = closest_name(value, PRESETS)
            raise ValueError(
                f"unknown preset `{value}`"
                + (
                    f"; did you mean `{suggestion}`?"
                    if suggestion
                    else "; leave it out and write the facts instead"
                )
            )
        return value

    @field_validator("parameters")
    @classmethod
    def _parameter_count_form(cls, value: int | str | None) -> int | str | None:
        """One clear error for `parameters: banana` (a union would report both of its branches)."""
        if isinstance(value, str) and not PARAMETERS_FORM.fullmatch(value):
            raise ValueError(
                "write a number of parameters: a whole number such as 7000000000, or up to six "
                "digits (and up to six decimals) followed by K, M, B or T in either case, such as "
                "7B, 7b, 1.5B or 350M"
            )
        count = parameter_count(value) if value is not None else None
        if count is not None and not 1 <= count <= MAX_PARAMETERS:
            raise ValueError("a model has from 1 to 100T (100,000,000,000,000) parameters")
        return value


def parameter_count(value: int | str) -> int:
    """`7B` or `7b` -> 7000000000, `1.5B` -> 1500000000, or an integer as is (for a value of the
    accepted forms)."""
    if isinstance(value, int):
        return value
    number, scale = value[:-1], PARAMETERS_SCALE[value[-1].upper()]
    whole, _, fraction = number.partition(".")
    exact: int = (
        (int(whole) * 10 ** len(fraction) + int(fraction or 0)) * scale // 10 ** len(fraction)
    )
    return exact


class ModelSpec(StrictModel):
    name: str | None = Field(
        None,
        description="The original platform's model name; when given it must equal metadata.name.",
    )
    version: VersionLabel = Field(
        description="Model version, e.g. `1.0` (quoted). With the name it identifies the model.",
    )
    type: Literal["base", "finetuned", "fine-tuned", "adapter", "embedding"] = Field(
        description=(
            "What the model is. `fine-tuned` (the original platform's `finetuned` is the same) "
            "and `adapter` (LoRA weights served on their base model) are derived from `baseModel`."
        )
    )
    base_model: str | None = Field(
        None,
        alias="baseModel",
        description=(
            "The Model this one derives from, `name@version` or `name-version`: the training "
            "job's model, and for an adapter the model an endpoint serves it on."
        ),
    )
    trained_by: str | None = Field(
        None,
        alias="trainedBy",
        description=(
            "Name of the TrainingJob that produced this model. Its model must be `baseModel`, "
            "its output URI this `storageUri`, and the job and its dataset enter the digest an "
            "Approval pins."
        ),
    )
    owner_team: str | None = Field(None, alias="ownerTeam", description="Team that owns the model.")
    metadata: ModelMetadata = Field(
        default_factory=ModelMetadata, description="Descriptive and capacity facts."
    )
    storage_uri: StorageUri = Field(
        alias="storageUri", description="Where the weights live, e.g. `s3://models/name/1.0/`."
    )
    status: ModelStatus = Field(
        "draft", description="`approved` is only valid with a matching Approval in the environment."
    )


class ModelManifest(Envelope):
    kind: Literal["Model"]
    spec: ModelSpec
