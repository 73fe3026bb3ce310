"""The checks the trainer (`llmops-train`) makes of a job's hyperparameters before it trains,
written once for both sides: the trainer refuses a job with them (llmops/train/hyperparameters.py),
and `llmops validate` reports the same mistake at its key (M010) before the Job is ever rendered.

An unknown name is refused with the closest known one: `learnig_rate` silently training at the
default rate would waste a GPU-day. So is a value of the wrong type or out of range.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compiler.target.training_contract import HYPERPARAMETER_NAMES, HYPERPARAMETERS

SCHEDULERS = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
)


# What other trainers (transformers, LLaMA-Factory, axolotl) call some of these: a job written for
# one of them is told this trainer's name
OTHER_TRAINERS_NAMES = {
    "lr": "learning_rate",
    "epochs": "num_epochs",
    "num_train_epochs": "num_epochs",
    "per_device_train_batch_size": "batch_size",
    "micro_batch_size": "batch_size",
    "train_batch_size": "batch_size",
    "cutoff_len": "max_seq_length",
    "max_length": "max_seq_length",
    "sequence_len": "max_seq_length",
    "lora_rank": "lora_r",
    "lora_target": "lora_target_modules",
    "target_modules": "lora_target_modules",
    "scheduler": "lr_scheduler_type",
    "lr_scheduler": "lr_scheduler_type",
}


class HyperparameterRefused(ValueError):
    """A hyperparameter the trainer would refuse: ``name`` is its key, the message says why and
    ``hint`` (when there is one) what to write instead."""

    def __init__(self, name: str, message: str, hint: str | None = None) -> None:
        super().__init__(message if hint is None else f"{message}; {hint}")
        self.name = name
        self.message = message
        self.hint = hint


def checked_hyperparameters(given: Mapping[str, Any]) -> dict[str, Any]:
    """Every hyperparameter the trainer honours: the job's values over the documented defaults,
    each of its type and range (`max_steps` -1, transformers' "not set", as None). **Raises:**
    ``HyperparameterRefused`` for the first one the trainer would refuse."""
    values = _typed(given)
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
    for name in ("warmup_ratio", "lora_dropout"):
        if values[name] >= 1:
            raise HyperparameterRefused(
                name, f"hyperparameter `{name}` must be below 1, not {values[name]!r}"
            )
    if values["lr_scheduler_type"] not in SCHEDULERS:
        raise HyperparameterRefused(
            "lr_scheduler_type",
            f"hyperparameter `lr_scheduler_type` must be one of {', '.join(SCHEDULERS)}, "
            f"not {values['lr_scheduler_type']!r}",
        )
    if values["lora_target_modules"].strip() != "all-linear" and not target_modules(
        values["lora_target_modules"]
    ):
        raise HyperparameterRefused(
            "lora_target_modules", "hyperparameter `lora_target_modules` names no module"
        )
    return values


def target_modules(written: str) -> str | list[str]:
    """`all-linear`, or the comma-separated module names."""
    modules = written.strip()
    if modules == "all-linear":
        return modules
    return [name.strip() for name in modules.split(",") if name.strip()]


def _kind_name(kinds: tuple[type, ...]) -> str:
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
    return " or ".join(dict.fromkeys(names[kind] for kind in kinds))


def _typed(given: Mapping[str, Any]) -> dict[str, Any]:
    known = {parameter.name: parameter for parameter in HYPERPARAMETERS}
    values: dict[str, Any] = {name: parameter.default for name, parameter in known.items()}
    for name, value in given.items():
        if name not in known:
            import difflib  # only for a name to correct: `validate` of a valid estate skips it

            close = OTHER_TRAINERS_NAMES.get(name) or next(
                iter(difflib.get_close_matches(name, HYPERPARAMETER_NAMES, n=1)), None
            )
            raise HyperparameterRefused(
                name,
                f"hyperparameter `{name}` is not one this trainer honours",
                f"did you mean `{close}`?"
                if close
                else "known: " + ", ".join(HYPERPARAMETER_NAMES),
            )
        kinds = known[name].kinds
        # JSON has one number type: 1.0 is a whole number where one is wanted; true is never a
        # number.
        if isinstance(value, float) and value.is_integer() and int in kinds and float not in kinds:
            value = int(value)
        if isinstance(value, bool) != (bool in kinds) or not isinstance(value, kinds):
            raise HyperparameterRefused(
                name, f"hyperparameter `{name}` must be {_kind_name(kinds)}, not {value!r}"
            )
        values[name] = value
    return values


def _at_least(values: dict[str, Any], name: str, minimum: float, *, strictly: bool = False) -> None:
    value = values[name]
    if value is not None and (value <= minimum if strictly else value < minimum):
        relation = "above" if strictly else "at least"
        raise HyperparameterRefused(
            name, f"hyperparameter `{name}` must be {relation} {minimum:g}, not {value!r}"
        )
