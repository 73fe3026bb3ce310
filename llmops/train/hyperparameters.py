"""The job's hyperparameters as the run uses them, over the documented defaults: checked by
compiler/target/trainer_hyperparameters.py, whose refusals `llmops validate` reports as M010."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from compiler.target.trainer_hyperparameters import (
    HyperparameterRefused,
    checked_hyperparameters,
    target_modules,
)
from llmops.train.errors import TrainerError

LORA_LEARNING_RATE = 2e-4
FULL_LEARNING_RATE = 2e-5


@dataclass(frozen=True)
class Hyperparameters:
    learning_rate: float
    batch_size: int
    num_epochs: float
    max_steps: int | None
    gradient_accumulation_steps: int
    warmup_ratio: float
    warmup_steps: int | None
    lr_scheduler_type: str
    weight_decay: float
    max_grad_norm: float
    max_seq_length: int
    seed: int
    logging_steps: int
    train_on_prompt: bool
    gradient_checkpointing: bool
    lora_r: int
    lora_alpha: float
    lora_dropout: float
    lora_target_modules: str | list[str]

    @property
    def warmup(self) -> float:
        """As transformers' warmup_steps takes it: a whole number of steps, or a ratio in [0, 1)."""
        return self.warmup_steps if self.warmup_steps is not None else self.warmup_ratio

    def as_json(self) -> dict[str, Any]:
        """Every value the run used, defaults included (the metadata file records them)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def resolve_hyperparameters(given: Mapping[str, Any], *, adapters: bool) -> Hyperparameters:
    """The run's settings: the job's values over the documented defaults (TrainerError on a bad
    one)."""
    try:
        values = checked_hyperparameters(given)
    except HyperparameterRefused as refused:
        raise TrainerError(str(refused)) from None
    learning_rate = values["learning_rate"]
    if learning_rate is None:
        learning_rate = LORA_LEARNING_RATE if adapters else FULL_LEARNING_RATE
    return Hyperparameters(
        learning_rate=float(learning_rate),
        batch_size=values["batch_size"],
        num_epochs=float(values["num_epochs"]),
        max_steps=values["max_steps"],
        gradient_accumulation_steps=values["gradient_accumulation_steps"],
        warmup_ratio=float(values["warmup_ratio"]),
        warmup_steps=values["warmup_steps"],
        lr_scheduler_type=values["lr_scheduler_type"],
        weight_decay=float(values["weight_decay"]),
        max_grad_norm=float(values["max_grad_norm"]),
        max_seq_length=values["max_seq_length"],
        seed=values["seed"],
        logging_steps=values["logging_steps"],
        train_on_prompt=values["train_on_prompt"],
        gradient_checkpointing=values["gradient_checkpointing"],
        lora_r=values["lora_r"],
        lora_alpha=float(values["lora_alpha"]),
        lora_dropout=float(values["lora_dropout"]),
        lora_target_modules=target_modules(values["lora_target_modules"]),
    )
