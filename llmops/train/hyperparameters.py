"""The job's hyperparameters, checked against the ones the trainer honours
(compiler/training_contract.py).

An unknown name is refused with the closest known one: `learnig_rate` silently training at the
default rate would waste a GPU-day. So is a value of the wrong type or out of range.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from compiler.target.training_contract import HYPERPARAMETER_NAMES, HYPERPARAMETERS
from llmops.train.errors import TrainerError

SCHEDULERS = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
)
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


def _kind_name(kinds: tuple[type, ...]) -> str:
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
    return " or ".join(dict.fromkeys(names[kind] for kind in kinds))


def _checked(given: Mapping[str, Any]) -> dict[str, Any]:
    known = {parameter.name: parameter for parameter in HYPERPARAMETERS}
    values: dict[str, Any] = {name: parameter.default for name, parameter in known.items()}
    for name, value in given.items():
        if name not in known:
            close = difflib.get_close_matches(name, HYPERPARAMETER_NAMES, n=1)
            hint = (
                f"did you mean `{close[0]}`?"
                if close
                else "known: " + ", ".join(HYPERPARAMETER_NAMES)
            )
            raise TrainerError(f"hyperparameter `{name}` is not one this trainer honours; {hint}")
        kinds = known[name].kinds
        # JSON has one number type: 1.0 is a whole number where one is wanted; true is never a
        # number.
        if isinstance(value, float) and value.is_integer() and int in kinds and float not in kinds:
            value = int(value)
        if isinstance(value, bool) != (bool in kinds) or not isinstance(value, kinds):
            raise TrainerError(
                f"hyperparameter `{name}` must be {_kind_name(kinds)}, not {value!r}"
            )
        values[name] = value
    return values


def _at_least(values: dict[str, Any], name: str, minimum: float, *, strictly: bool = False) -> None:
    value = values[name]
    if value is not None and (value <= minimum if strictly else value < minimum):
        relation = "above" if strictly else "at least"
        raise TrainerError(f"hyperparameter `{name}` must be {relation} {minimum:g}, not {value!r}")


def resolve_hyperparameters(given: Mapping[str, Any], *, adapters: bool) -> Hyperparameters:
    """The run's settings: the job's values over the documented defaults (TrainerError on a bad
    one)."""
    values = _checked(given)
    if values["max_steps"] == -1:  # transformers' way of saying "not set": train for num_epochs
        values["max_steps"] = None
    for name in (
        "batch_size",
        "gradient_accumulation_steps",
        "max_seq_length",
        "logging_steps",
        "lora_r",
        "max_steps",
    ):
        _at_least(values, name, 1)
    for name in ("learning_rate", "num_epochs", "lora_alpha"):
        _at_least(values, name, 0, strictly=True)
    for name in (
        "weight_decay",
        "max_grad_norm",
        "lora_dropout",
        "warmup_ratio",
        "warmup_steps",
        "seed",
    ):
        _at_least(values, name, 0)
    if values["warmup_ratio"] >= 1 or values["lora_dropout"] >= 1:
        name = "warmup_ratio" if values["warmup_ratio"] >= 1 else "lora_dropout"
        raise TrainerError(f"hyperparameter `{name}` must be below 1, not {values[name]!r}")
    if values["lr_scheduler_type"] not in SCHEDULERS:
        raise TrainerError(
            f"hyperparameter `lr_scheduler_type` must be one of {', '.join(SCHEDULERS)}, "
            f"not {values['lr_scheduler_type']!r}"
        )
    modules = values["lora_target_modules"].strip()
    targets: str | list[str] = (
        modules
        if modules == "all-linear"
        else [name.strip() for name in modules.split(",") if name.strip()]
    )
    if not targets:
        raise TrainerError("hyperparameter `lora_target_modules` names no module")
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
        lora_target_modules=targets,
    )
