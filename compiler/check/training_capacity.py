"""Training feasibility (code family C, continued): does a fine-tuning method fit in the job's
memory.

The bytes-per-parameter ranges and their sources are in `compiler/capacity/training.py`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from compiler.capacity.facts import assumptions_of
from compiler.capacity.serving import GIB, as_float
from compiler.capacity.training import (
    BYTES_PER_PARAMETER,
    METHOD_NAMES,
    TrainingCapacity,
    methods_for,
    training_capacity,
)
from compiler.check.capacity import count, related
from compiler.check.rule import Finding, rule
from compiler.diagnostics import Category, Severity
from compiler.positions import Path
from compiler.resolve.environment import ResolvedEnvironment

E, W = Severity.ERROR, Severity.WARNING


def _estimates(env: ResolvedEnvironment) -> Iterator[tuple[TrainingCapacity, float, float, float]]:
    """Jobs whose estimate can be made, with (low, high, available) bytes."""
    for job in env.of_kind("TrainingJob"):
        capacity = training_capacity(env, job)
        if capacity is None or capacity.needed_bytes is None or capacity.available_bytes is None:
            continue
        low, high = capacity.needed_bytes
        yield capacity, low, high, capacity.available_bytes


def _place(capacity: TrainingCapacity) -> Path:
    if capacity.gpus > 0:
        return ("spec", "trainJobSpec", "resources", "gpus")
    return ("spec", "resourceProfile", "memory")


def _need_text(capacity: TrainingCapacity, low: float, high: float) -> str:
    assert capacity.parameters is not None
    low_bytes, high_bytes = BYTES_PER_PARAMETER[capacity.method.value]
    method = METHOD_NAMES[capacity.method.value]
    return (
        f"{method} of {count(capacity.parameters.value)} parameters needs about "
        f"{low / GIB:.1f}-{high / GIB:.1f} GiB ({low_bytes:g}-{high_bytes:g} bytes per parameter, "
        "activations not counted)"
    )


def _options(env: ResolvedEnvironment, capacity: TrainingCapacity, available: float) -> str:
    """Ways out, each sized: a lighter method the job can run, more GPUs, or more memory."""
    assert capacity.parameters is not None
    parameters = as_float(capacity.parameters.value)
    current_high = BYTES_PER_PARAMETER[capacity.method.value][1]
    lighter = [
        method
        for method in methods_for(capacity.gpus)
        if BYTES_PER_PARAMETER[method][1] < current_high
    ]
    options = []
    for method in lighter:
        needed = parameters * BYTES_PER_PARAMETER[method][1]
        if needed <= available:
            options.append(
                f"set trainJobSpec.finetuning_type: {method} (about {needed / GIB:.1f} GiB)"
            )
            break
    high_total = parameters * current_high
    if capacity.gpus > 0 and capacity.gpu_memory_gib is not None:
        gpus = _ceil_ratio(high_total, capacity.gpu_memory_gib.value * GIB)
        if gpus is not None and gpus <= env.settings.gpu.max_per_endpoint:
            options.append(f"use {gpus} GPUs")
    elif capacity.gpus == 0:
        if not options and lighter:
            lightest = lighter[-1]
            memory = _ceil_ratio(parameters * BYTES_PER_PARAMETER[lightest][1], GIB)
            if memory is not None:
                options.append(
                    f"set trainJobSpec.finetuning_type: {lightest} with resourceProfile.memory: "
                    f"{memory}Gi"
                )
        memory = _ceil_ratio(high_total, GIB)
        if memory is not None:
            assumed = capacity.method.origin.assumption is not None
            options.append(
                f"set resourceProfile.memory: {memory}Gi"
                + (f" for {METHOD_NAMES[capacity.method.value]}" if assumed else "")
            )
    return (
        " or ".join(options)
        if options
        else "train a smaller model" + (", or with QLoRA" if capacity.gpus else "")
    )


def _ceil_ratio(numerator: float, denominator: float) -> int | None:
    """ceil(numerator / denominator), or None when it is not a finite number."""
    ratio = numerator / denominator
    return math.ceil(ratio) if math.isfinite(ratio) else None


@rule(
    "C008",
    "training-memory-insufficient",
    E,
    "A training job cannot fit its model in its memory.",
    category=Category.CAPACITY,
)
def training_memory_insufficient(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Whether a training job's memory (its GPUs', or on CPU its `resourceProfile.memory`) covers
        the low end of the estimate for its fine-tuning method: full fine-tuning with AdamW needs
        16-18 bytes per parameter, LoRA 2-2.22, QLoRA 0.52-0.74. A warning when `finetuning_type` is
        not set, since the estimate then assumes full fine-tuning.
    Why it matters:
        Below the low end the job is certain to fail with an out-of-memory error, after it was
        scheduled, held its GPUs and loaded the model. The hint names a lighter method or the GPU
        count that fits.
    Wrong: full fine-tuning of 7B parameters on one 80 GiB GPU
        # file: environments/stg/training/support-sft.yaml
          trainJobSpec:
            job_type: SFT
            dataset_type: instruction
            finetuning_type: full
            resources:
              gpus: 1
    Right: LoRA keeps the weights frozen (about 13-14.5 GiB)
        # file: environments/stg/training/support-sft.yaml
          trainJobSpec:
            job_type: SFT
            dataset_type: instruction
            finetuning_type: lora
            resources:
              gpus: 1
    """
    for capacity, low, high, available in _estimates(env):
        if low > available:
            yield Finding(
                capacity.job,
                _place(capacity),
                f"{_need_text(capacity, low, high)} but the job has "
                f"{capacity.describe_available()}",
                _options(env, capacity, available),
                related=related(capacity.parameters, "parameters"),
                assumptions=assumptions_of(capacity.method, capacity.parameters),
            )


@rule(
    "C009",
    "training-memory-marginal",
    W,
    "A training job's memory barely fits its model.",
    category=Category.CAPACITY,
)
def training_memory_marginal(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Whether a training job's memory covers the low end of the estimate for its fine-tuning
        method but not the high end (the same estimate as C008).
    Why it matters:
        Activations come on top of the estimate and grow with batch size and sequence length: such a
        job may run, or may fail with an out-of-memory error hours in, when a longer batch arrives.
        A warning: a small batch with gradient checkpointing can make it fit.
    Wrong: full fine-tuning of 5B parameters (74.5-83.8 GiB) on 80 GiB
        # file: environments/stg/catalog/support-model.yaml
            parameters: 5B
        # file: environments/stg/training/support-sft.yaml
            finetuning_type: full
            resources:
              gpus: 1
    Right: a 4B model needs 59.6-67.1 GiB (or LoRA, or two GPUs)
        # file: environments/stg/catalog/support-model.yaml
            parameters: 4B
    """
    for capacity, low, high, available in _estimates(env):
        if low <= available < high:
            yield Finding(
                capacity.job,
                _place(capacity),
                f"{_need_text(capacity, low, high)} and the job has "
                f"{capacity.describe_available()}: little or no room for activations",
                _options(env, capacity, available),
                related=related(capacity.parameters, "parameters"),
                assumptions=assumptions_of(capacity.method, capacity.parameters),
            )


@rule(
    "C010",
    "qlora-without-gpus",
    W,
    "A CPU-only training job is set to QLoRA, whose 4-bit weights need GPUs.",
    category=Category.CAPACITY,
)
def qlora_without_gpus(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Whether a training job set to `trainJobSpec.finetuning_type: qlora` runs on GPUs
        (`resources.gpus` of at least 1); a CPU-only job cannot use QLoRA.
    Why it matters:
        QLoRA trains adapters on weights quantized to 4 bits by bitsandbytes, whose 4-bit kernels
        run on GPUs: on CPU the job fails or falls back to another method, and the memory estimate
        (0.52-0.74 bytes per parameter) that made it look affordable no longer holds.
    Wrong: QLoRA on a CPU-only job
        # file: environments/stg/training/support-sft.yaml
            finetuning_type: qlora
            resources:
              gpus: 0
            use_gpu: false
    Right: LoRA on CPU, with the memory it needs (or QLoRA on GPUs)
        # file: environments/stg/training/support-sft.yaml
            memory: 16Gi
        ...
            finetuning_type: lora
            resources:
              gpus: 0
    """
    for job in env.of_kind("TrainingJob"):
        capacity = training_capacity(env, job)
        if capacity is None or capacity.gpus > 0 or capacity.method.value != "qlora":
            continue
        lora = ""
        if capacity.parameters is not None:
            memory = _ceil_ratio(
                as_float(capacity.parameters.value) * BYTES_PER_PARAMETER["lora"][1], GIB
            )
            lora = f" with resourceProfile.memory: {memory}Gi or more" if memory is not None else ""
        yield Finding(
            job,
            ("spec", "trainJobSpec", "finetuning_type"),
            "QLoRA's 4-bit weights need GPUs (bitsandbytes' 4-bit kernels), but this job runs on "
            "CPU only",
            f"set finetuning_type: lora{lora}, or run the job on GPUs "
            "(trainJobSpec.resources.gpus >= 1)",
        )


CHECKS = (training_memory_insufficient, training_memory_marginal, qlora_without_gpus)
