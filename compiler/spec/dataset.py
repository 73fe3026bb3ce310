"""Dataset: the original platform's `POST /catalog/datasets` body, plus the local sample files to
check."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from compiler.spec.base import Envelope, StrictModel, empty_list
from compiler.spec.formats import StorageUri, VersionLabel

DatasetType = Literal["sft_pair", "instruction", "chat", "preference", "text", "eval"]

# Columns (CSV header or JSONL keys) each dataset type needs in its local files.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "sft_pair": ("instruction", "output"),
    "instruction": ("instruction", "output"),
    "chat": ("messages",),
    "preference": ("prompt", "chosen", "rejected"),
    "text": ("text",),
    "eval": ("input", "expected"),
}


class DatasetSpec(StrictModel):
    name: str | None = Field(
        None,
        description="The original platform's dataset name; when given it must equal metadata.name.",
    )
    version: VersionLabel = Field(
        description="Dataset version, e.g. `v1.0`. With the name it identifies "
        "the dataset; quote numbers-looking versions.",
    )
    owner_team: str | None = Field(None, description="Team that owns the dataset.")
    type: DatasetType = Field(description="Kind of records: " + ", ".join(REQUIRED_COLUMNS) + ".")
    storage_uri: StorageUri = Field(
        description="Where the full dataset lives, e.g. `s3://datasets/name/v1.0/`."
    )
    description: str | None = Field(None, description="Free text for people.")
    files: list[str] = Field(
        default_factory=empty_list,
        description="Repository-relative paths of local sample files "
        "(`.csv` or `.jsonl`) that are checked to exist, parse and have the columns the "
        "type needs. (Users uploaded these with `POST .../upload`.)",
    )


class DatasetManifest(Envelope):
    kind: Literal["Dataset"]
    spec: DatasetSpec
