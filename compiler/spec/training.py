"""TrainingJob: the seeds' `POST /training/jobs` body."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from compiler.spec.base import QUANTITY_PATTERN, URI_PATTERN, Envelope, StrictModel

TrainingDatasetType = Literal["instruction", "chat", "preference", "text"]
HyperparameterValue = bool | int | float | str


class ResourceProfile(StrictModel):
    cpu_cores: int | float = Field(alias="cpuCores", gt=0, description="CPU cores requested.")
    memory: str = Field(pattern=QUANTITY_PATTERN, description="Memory, a Kubernetes quantity such as `8Gi`.")
    max_duration: int = Field(alias="maxDuration", gt=0, description="Time limit in minutes.")


class TrainingResources(StrictModel):
    gpus: int = Field(0, ge=0, description="GPUs for the job; 0 means CPU-only.")
    gpu_memory_gb: int | float | None = Field(None, gt=0, description=(
        "Memory of one GPU in GiB; the capacity checks use it when the environment names neither "
        "gpu.memoryGiB nor gpu.product."))


class TrainJobSpec(StrictModel):
    model_ref: str | None = Field(None, description="Base model: `name@version` or `name-version`; must be the "
                                  "same model as modelId.")
    model_family: str | None = Field(None, description="Must agree with the model's metadata.model_family.")
    job_type: Literal["SFT", "DPO", "RLHF", "PRETRAIN"] = Field("SFT", description="Training method.")
    dataset_ref: str | None = Field(None, description="Dataset: `name@version` or `name-version`; must be the "
                                    "same dataset as datasetId.")
    dataset_type: TrainingDatasetType | None = Field(None, description="How the job reads the dataset; must fit "
                                                     "the dataset's type (an sft_pair dataset trains as instruction).")
    resources: TrainingResources = Field(default_factory=TrainingResources, description="GPUs of the job.")
    finetuning_type: Literal["full", "lora", "qlora"] | None = Field(None, description=(
        "Which weights train: `full` (every weight, AdamW), `lora` (adapters on frozen 16-bit weights) or "
        "`qlora` (adapters on 4-bit weights; needs GPUs). Sizes the memory estimate; not set, llmops passes no "
        "method to the trainer and the estimate assumes full fine-tuning (its findings are then warnings)."))
    hyperparameters: dict[str, HyperparameterValue] = Field(default_factory=dict,
                                                            description="Passed to the trainer as JSON.")
    use_gpu: bool | None = Field(None, description="Must agree with useGpu and resources.gpus.")


class TrainingOutput(StrictModel):
    storage_uri: str = Field(alias="storageUri", pattern=URI_PATTERN, description=(
        "Where the trainer writes the model or adapter and its metadata file (llmops-training.json), e.g. "
        "`s3://models/customer-support-sft/1.0/`. Not given: the environment's training.outputUri plus the job's "
        "name."))


class TrainingJobSpec(StrictModel):
    model_id: str = Field(alias="modelId", description="Base model: `name@version` or `name-version`.")
    dataset_id: str = Field(alias="datasetId", description="Dataset: `name@version` or `name-version`.")
    job_type: Literal["finetune", "pretrain", "distillation"] = Field(alias="jobType", description="What kind of "
                                                                      "training this is.")
    use_gpu: bool = Field(False, alias="useGpu", description="Whether the job runs on GPUs.")
    resource_profile: ResourceProfile | None = Field(None, alias="resourceProfile",
                                                     description="CPU, memory and time limit of the job.")
    train_job_spec: TrainJobSpec | None = Field(None, alias="trainJobSpec",
                                                description="The seeds' TrainJobSpec: what to train and how.")
    image: str | None = Field(None, description="Trainer container image (the environment's default otherwise).")
    command: list[str] | None = Field(None, description="Trainer command (the image's entrypoint otherwise).")
    output: TrainingOutput | None = Field(None, description="Where the trained weights go.")


class TrainingJobManifest(Envelope):
    kind: Literal["TrainingJob"]
    spec: TrainingJobSpec
