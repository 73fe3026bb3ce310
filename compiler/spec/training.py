"""TrainingJob: the original platform's `POST /training/jobs` body."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from compiler.spec import hyperparameters
from compiler.spec.base import Envelope, StrictModel
from compiler.spec.environment import MAX_GPU_MEMORY_GIB, MAX_GPUS_PER_REPLICA
from compiler.spec.formats import ImageReference, StorageUri
from compiler.spec.hyperparameters import HyperparameterValue
from compiler.spec.quantities import MAX_CPU_CORES, MemoryQuantity
from compiler.target.training_contract import default_output_uri

TrainingDatasetType = Literal["instruction", "chat", "preference", "text"]
# a year: activeDeadlineSeconds beyond it is a typo, not a plan
MAX_DURATION_MINUTES = 365 * 24 * 60


class ResourceProfile(StrictModel):
    cpu_cores: int | float = Field(
        alias="cpuCores",
        ge=0.001,
        le=MAX_CPU_CORES,
        description="CPU cores requested, in whole millicores (0.5 is 500m).",
    )
    memory: MemoryQuantity = Field(
        description="Memory, a Kubernetes quantity such as `8Gi`; 1Mi to 64Ti."
    )
    max_duration: int = Field(
        alias="maxDuration",
        ge=1,
        le=MAX_DURATION_MINUTES,
        description="Time limit in minutes (at most a year).",
    )

    @field_validator("cpu_cores")
    @classmethod
    def _whole_millicores(cls, value: int | float) -> int | float:
        """Kubernetes counts CPU in millicores and rounds finer amounts up: 0.0005 would become
        1m."""
        if isinstance(value, float) and abs(value * 1000 - round(value * 1000)) > 1e-9:
            raise ValueError(
                "CPU is counted in millicores: write a multiple of 0.001 (0.5 is 500m)"
            )
        return value


class TrainingResources(StrictModel):
    gpus: int = Field(
        0,
        ge=0,
        le=MAX_GPUS_PER_REPLICA,
        description="GPUs for the job (one pod, one node); 0 means CPU-only.",
    )
    gpu_memory_gb: int | float | None = Field(
        None,
        ge=1,
        le=MAX_GPU_MEMORY_GIB,
        description=(
            "Memory of one GPU in GiB; the capacity checks use it when the environment names "
            "neither gpu.memoryGiB nor gpu.product."
        ),
    )


class TrainJobSpec(StrictModel):
    model_ref: str | None = Field(
        None,
        description="Base model: `name@version` or `name-version`; must be the "
        "same model as modelId.",
    )
    model_family: str | None = Field(
        None, description="Must agree with the model's metadata.model_family."
    )
    job_type: Literal["SFT", "DPO", "RLHF", "PRETRAIN"] = Field(
        "SFT", description="Training method."
    )
    dataset_ref: str | None = Field(
        None,
        description="Dataset: `name@version` or `name-version`; must be the "
        "same dataset as datasetId.",
    )
    dataset_type: TrainingDatasetType | None = Field(
        None,
        description="How the job reads the dataset; must fit "
        "the dataset's type (an sft_pair dataset trains as instruction).",
    )
    resources: TrainingResources = Field(
        default_factory=TrainingResources, description="GPUs of the job."
    )
    finetuning_type: Literal["full", "lora", "qlora"] | None = Field(
        None,
        description=(
            "Which weights train: `full` (every weight, AdamW), `lora` (adapters on frozen 16-bit "
            "weights) or `qlora` (adapters on 4-bit weights; needs GPUs). Sizes the memory "
            "estimate; not set, llmops passes no method to the trainer and the estimate assumes "
            "full fine-tuning (its findings are then warnings)."
        ),
    )
    hyperparameters: dict[str, HyperparameterValue] = Field(
        default_factory=dict,
        description=hyperparameters.DESCRIPTION,
        json_schema_extra=hyperparameters.json_schema(),
    )
    use_gpu: bool | None = Field(None, description="Must agree with useGpu and resources.gpus.")

    @field_validator("hyperparameters")
    @classmethod
    def _hyperparameter_ranges(
        cls, values: dict[str, HyperparameterValue]
    ) -> dict[str, HyperparameterValue]:
        return hyperparameters.check_hyperparameters(values)


class TrainingOutput(StrictModel):
    storage_uri: StorageUri | None = Field(
        None,
        alias="storageUri",
        description=(
            "Where the trainer writes the model or adapter and its metadata file "
            "(llmops-training.json), e.g. `s3://models/customer-support-sft/1.0/`. Not given: the "
            "environment's training.outputUri plus the job's name."
        ),
    )
    model: str | None = Field(
        None,
        description=(
            "The Model the job produces, `name@version` or `name-version`: when it is in the "
            "catalog, its `trainedBy` names this job and its `storageUri` is this output."
        ),
    )


class TrainingJobSpec(StrictModel):
    model_id: str = Field(
        alias="modelId", description="Base model: `name@version` or `name-version`."
    )
    dataset_id: str = Field(
        alias="datasetId", description="Dataset: `name@version` or `name-version`."
    )
    job_type: Literal["finetune", "pretrain", "distillation"] = Field(
        alias="jobType", description="What kind of training this is."
    )
    use_gpu: bool = Field(False, alias="useGpu", description="Whether the job runs on GPUs.")
    resource_profile: ResourceProfile | None = Field(
        None, alias="resourceProfile", description="CPU, memory and time limit of the job."
    )
    train_job_spec: TrainJobSpec | None = Field(
        None,
        alias="trainJobSpec",
        description="The original platform's TrainJobSpec: what to train and how.",
    )
    image: ImageReference | None = Field(
        None, description="Trainer container image (the environment's default otherwise)."
    )
    command: list[str] | None = Field(
        None, description="Trainer command (the image's entrypoint otherwise)."
    )
    output: TrainingOutput | None = Field(None, description="Where the trained weights go.")


def written_to(spec: TrainingJobSpec, job_name: str, environment_output_base: str) -> str:
    """Where a job's trainer writes: its output.storageUri, or the environment's
    training.outputUri plus the job's name."""
    if spec.output is not None and spec.output.storage_uri is not None:
        return str(spec.output.storage_uri)
    return default_output_uri(environment_output_base, job_name)


class TrainingJobManifest(Envelope):
    kind: Literal["TrainingJob"]
    spec: TrainingJobSpec
