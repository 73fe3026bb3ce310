"""Training memory estimates: bytes per parameter by fine-tuning method, against the job's memory.

Each method has a range of bytes per parameter, activations excluded (they depend on batch size and
sequence length, so the top of the range is the "marginal" line, not a guarantee):

- full fine-tuning with AdamW in mixed precision: 16 to 18. 16 is the ZeRO paper's count
  (Rajbhandari et al. 2020, section 3.1: 2 bytes of 16-bit weights, 2 of gradients, 12 of fp32
  weights, momentum and variance); 18 is the Hugging Face Transformers guide's (model training
  anatomy: 6 for mixed-precision weights, 4 for gradients, 8 for AdamW).
- QLoRA: 0.52 to 0.74. 0.52 is 4-bit NF4 weights with double-quantized constants (0.5 byte + 0.127
  bit, Dettmers et al. 2023); 0.74 is that paper's headline, a 65B model fine-tuned in 48 GB, i.e.
  0.22 byte per parameter for adapters, their optimizer state and activations.
- LoRA: 2.0 to 2.22: frozen 16-bit weights (2 bytes) plus the same 0.22 allowance.

Without `finetuning_type` llmops passes no method to the trainer; the estimate then assumes full
fine-tuning, and says so (a verdict on it is a warning). QLoRA's 4-bit weights need GPUs
(bitsandbytes' 4-bit kernels), so it is never suggested for a CPU-only job.

Several GPUs are assumed to shard weights and optimizer state (FSDP or DeepSpeed ZeRO-3), so the
job's memory is the sum over its GPUs; plain data parallelism needs the whole estimate on every GPU.
A CPU-only job has its `resourceProfile.memory` (8Gi when not set, as rendered).
"""

from __future__ import annotations

from compiler.capacity.facts import (
    GPU_MEMORY_MISSING,
    Fact,
    Origin,
    cached_model_facts,
    gpu_memory_gib,
)
from compiler.capacity.serving import GIB, as_float
from compiler.diagnostics import Assumption
from compiler.records import record
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.spec.model import ModelSpec
from compiler.spec.training import TrainingJobSpec
from compiler.target.pod_resources import TRAINING_DEFAULT_RESOURCES, memory_bytes

BYTES_PER_PARAMETER = {"full": (16.0, 18.0), "lora": (2.0, 2.22), "qlora": (0.52, 0.74)}
METHOD_NAMES = {"full": "full fine-tuning with AdamW", "lora": "LoRA", "qlora": "QLoRA"}
TRAIN_JOB = ("spec", "trainJobSpec")


@record(eq=False, repr=False)
class TrainingCapacity:
    """A training job's memory arithmetic: its method, parameters and the memory it gets."""

    job: Manifest[TrainingJobSpec]
    model: Manifest[ModelSpec]
    method: Fact[str]
    parameters: Fact[int] | None
    gpus: int
    gpu_memory_gib: Fact[float] | None
    cpu_memory_bytes: Fact[float] | None
    missing: list[str]

    @property
    def needed_bytes(self) -> tuple[float, float] | None:
        if self.parameters is None:
            return None
        low, high = BYTES_PER_PARAMETER[self.method.value]
        return as_float(self.parameters.value) * low, as_float(self.parameters.value) * high

    @property
    def available_bytes(self) -> float | None:
        if self.gpus == 0:
            return self.cpu_memory_bytes.value if self.cpu_memory_bytes else None
        return (
            as_float(self.gpus) * self.gpu_memory_gib.value * GIB if self.gpu_memory_gib else None
        )

    def describe_available(self) -> str:
        if self.gpus == 0:
            return (
                f"{self.available_bytes / GIB:.2f} GiB of memory"
                if self.available_bytes
                else "unknown memory"
            )
        memory = self.gpu_memory_gib.value if self.gpu_memory_gib else 0.0
        return f"{self.gpus} x {memory:g} GiB GPU{'s' if self.gpus > 1 else ''}"


def methods_for(gpus: int) -> tuple[str, ...]:
    """The fine-tuning methods a job can run: QLoRA's 4-bit weights (bitsandbytes) need GPUs."""
    return tuple(method for method in BYTES_PER_PARAMETER if gpus > 0 or method != "qlora")


def method_assumption(gpus: int) -> Assumption:
    """Unset, llmops passes no method to the trainer, which picks its own; the estimate assumes the
    heaviest."""
    methods = methods_for(gpus)
    listed = f"{', '.join(methods[:-1])} or {methods[-1]}"
    return Assumption(
        "full fine-tuning, as trainJobSpec.finetuning_type is not set",
        f"set trainJobSpec.finetuning_type: {listed}" + ("" if gpus else " (QLoRA needs GPUs)"),
    )


def training_capacity(
    env: ResolvedEnvironment, job: Manifest[TrainingJobSpec]
) -> TrainingCapacity | None:
    """The job's estimate, or None when its base model does not resolve (other rules report
    that)."""
    return env.remember(("training-capacity", env.name, job), lambda: _compute(env, job))


def _compute(env: ResolvedEnvironment, job: Manifest[TrainingJobSpec]) -> TrainingCapacity | None:
    model = env.resolve_model(job.spec.model_id).manifest
    if model is None:
        return None
    inner = job.spec.train_job_spec
    gpus = inner.resources.gpus if inner is not None else 0
    method: Fact[str] = (
        Fact(inner.finetuning_type, Origin("finetuning_type", job, (*TRAIN_JOB, "finetuning_type")))
        if inner is not None and inner.finetuning_type is not None
        else Fact(
            "full",
            Origin("no finetuning_type: full fine-tuning", assumption=method_assumption(gpus)),
        )
    )
    parameters = cached_model_facts(env, model).parameters
    missing = [] if parameters else ["parameters"]
    gpu_memory = cpu_memory = None
    if gpus > 0:
        gpu_memory = gpu_memory_gib(
            env,
            job,
            (*TRAIN_JOB, "resources", "gpu_memory_gb"),
            inner.resources.gpu_memory_gb if inner is not None else None,
        )
        missing += [] if gpu_memory else [GPU_MEMORY_MISSING]
    else:
        profile = job.spec.resource_profile
        if profile is not None:
            cpu_memory = Fact(
                memory_bytes(profile.memory),
                Origin(f"memory {profile.memory}", job, ("spec", "resourceProfile", "memory")),
            )
        else:
            default = TRAINING_DEFAULT_RESOURCES["memory"]
            cpu_memory = Fact(
                memory_bytes(default), Origin(f"no resourceProfile: llmops renders {default}")
            )
    return TrainingCapacity(
        job=job,
        model=model,
        method=method,
        parameters=parameters,
        gpus=gpus,
        gpu_memory_gib=gpu_memory,
        cpu_memory_bytes=cpu_memory,
        missing=missing,
    )
