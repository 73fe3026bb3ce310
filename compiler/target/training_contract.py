"""What a rendered training Job hands its trainer, and what the trainer leaves behind.

One place for both sides of the contract: the renderer (compiler/render/training.py) writes these
environment variables and files into every training Job, and the trainer (llmops/train/, the
`trainer` image) reads them and writes its output under these names. A change here changes both, so
they never disagree.
"""

from __future__ import annotations

from compiler.records import record

# Environment variables of the trainer container.
ENV_BASE_MODEL_URI = "LLMOPS_BASE_MODEL_URI"
ENV_DATASET_URI = "LLMOPS_DATASET_URI"
ENV_TRAINING_METHOD = "LLMOPS_TRAINING_METHOD"
ENV_TRAINING_CONFIG = "LLMOPS_TRAINING_CONFIG"  # path of job.json (batch/v1 Job backend)
# path of hyperparameters.json (batch/v1 Job backend)
ENV_HYPERPARAMETERS = "LLMOPS_HYPERPARAMETERS"
# job.json's text itself (TrainJob backend: no mount)
ENV_TRAINING_CONFIG_JSON = "LLMOPS_TRAINING_CONFIG_JSON"
ENV_OUTPUT_URI = "LLMOPS_OUTPUT_URI"
ENV_JOB_DIGEST = "LLMOPS_JOB_DIGEST"

# The mounted configuration (batch/v1 Job backend).
CONFIG_MOUNT = "/etc/llmops/training"
JOB_FILE = "job.json"
HYPERPARAMETERS_FILE = "hyperparameters.json"

# The trainer's entry point in the `trainer` image (pyproject.toml [project.scripts]). TrainJobs
# name it, since a ClusterTrainingRuntime's own command (torchrun ...) would otherwise run instead
# of the image's entry point.
TRAINER_COMMAND = ("llmops-train",)

# What the trainer writes under the output URI: the model (full fine-tuning) or the adapter (LoRA)
# in Hugging Face layout at the top, and this file describing how it was made.
METADATA_FILE = "llmops-training.json"
METADATA_SCHEMA_VERSION = 1

# Where a job writes when it names no output.storageUri: `<environment training.outputUri><job
# name>/`.
DEFAULT_OUTPUT_BASE = "s3://models/trained/"


def default_output_uri(base: str, job_name: str) -> str:
    """`s3://models/trained/` + `customer-support-sft` ->
    `s3://models/trained/customer-support-sft/`."""
    return f"{base.rstrip('/')}/{job_name}/"


@record(eq=False, repr=False)
class Hyperparameter:
    """One hyperparameter the trainer understands: the JSON types it accepts, its default and what
    it does."""

    name: str
    kinds: tuple[type, ...]
    default: bool | int | float | str | None
    meaning: str


# Every hyperparameter the trainer honours; any other name is refused (a typo must not train with
# defaults).
HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    Hyperparameter(
        "learning_rate",
        (float, int),
        None,
        "Peak learning rate of AdamW; 2e-4 with LoRA adapters, "
        "2e-5 for full fine-tuning when not given.",
    ),
    Hyperparameter("batch_size", (int,), 4, "Examples per optimizer micro-step."),
    Hyperparameter(
        "num_epochs", (int, float), 1, "Passes over the dataset (max_steps wins when set)."
    ),
    Hyperparameter(
        "max_steps",
        (int,),
        None,
        "Stop after this many optimizer steps, whatever num_epochs says "
        "(-1, as in transformers: not set).",
    ),
    Hyperparameter(
        "gradient_accumulation_steps",
        (int,),
        1,
        "Micro-steps per optimizer step: the effective batch is batch_size times this.",
    ),
    Hyperparameter(
        "warmup_ratio",
        (float, int),
        0.0,
        "Share of the steps over which the learning rate rises linearly from 0 (0 <= ratio < 1).",
    ),
    Hyperparameter(
        "warmup_steps",
        (int,),
        None,
        "Warm-up in steps instead of a ratio (wins over warmup_ratio).",
    ),
    Hyperparameter(
        "lr_scheduler_type",
        (str,),
        "linear",
        "Learning-rate schedule after warm-up: linear, cosine, "
        "constant, constant_with_warmup, polynomial, inverse_sqrt.",
    ),
    Hyperparameter("weight_decay", (float, int), 0.0, "AdamW weight decay."),
    Hyperparameter("max_grad_norm", (float, int), 1.0, "Gradient clipping norm."),
    Hyperparameter(
        "max_seq_length", (int,), 1024, "Tokens per example; longer examples are cut at the end."
    ),
    Hyperparameter(
        "seed", (int,), 42, "Seed of weight initialisation (adapters), dropout and data order."
    ),
    Hyperparameter(
        "logging_steps", (int,), 1, "One progress line every this many optimizer steps."
    ),
    Hyperparameter(
        "train_on_prompt",
        (bool,),
        False,
        "Also compute the loss on the prompt tokens (instruction "
        "and user turns), not only on the answers.",
    ),
    Hyperparameter(
        "gradient_checkpointing",
        (bool,),
        False,
        "Recompute activations in the backward pass: less memory, more time.",
    ),
    Hyperparameter("lora_r", (int,), 8, "LoRA rank (finetuning_type lora)."),
    Hyperparameter(
        "lora_alpha", (int, float), 16, "LoRA scaling numerator (finetuning_type lora)."
    ),
    Hyperparameter(
        "lora_dropout", (float, int), 0.05, "Dropout on the LoRA path (finetuning_type lora)."
    ),
    Hyperparameter(
        "lora_target_modules",
        (str,),
        "all-linear",
        "Modules that get adapters: `all-linear`, or "
        "comma-separated module names such as `q_proj,v_proj` (finetuning_type lora).",
    ),
)
HYPERPARAMETER_NAMES = tuple(parameter.name for parameter in HYPERPARAMETERS)
