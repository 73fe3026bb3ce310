"""Training hyperparameters: a free mapping the trainer reads as JSON, with ranges for the
well-known keys.

Every number must survive JSON exactly (finite, and an integer within ±2^53, beyond which JavaScript
and many JSON readers round it); the keys trainers commonly read must be of their type and in a
range any real run uses. A learning rate of 5 or a batch size of 0 is a typo that would otherwise
cost a training run.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import PydanticCustomError

from compiler.records import record

HyperparameterValue = bool | int | float | str
MAX_JSON_INTEGER = 2**53
MAX_STEPS = 10**9


@record(eq=False, repr=False, slots=True)
class Bound:
    """What one well-known key must be: an integer or any number, from ``minimum`` to
    ``maximum``."""

    integer: bool
    minimum: float
    maximum: float
    exclusive_minimum: bool = False

    def allows(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int if self.integer else (int, float)):
            return False
        above = value > self.minimum if self.exclusive_minimum else value >= self.minimum
        return above and value <= self.maximum

    def describe(self) -> str:
        kind = "an integer" if self.integer else "a number"
        if self.exclusive_minimum:
            return f"{kind} above {_number(self.minimum)} and at most {_number(self.maximum)}"
        return f"{kind} from {_number(self.minimum)} to {_number(self.maximum)}"

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "integer" if self.integer else "number",
            "maximum": self.maximum,
        }
        schema["exclusiveMinimum" if self.exclusive_minimum else "minimum"] = self.minimum
        return schema


def _number(value: float) -> str:
    return f"{value:,}" if float(value).is_integer() and abs(value) >= 10_000 else f"{value:g}"


_RATE = Bound(integer=False, minimum=0, maximum=1, exclusive_minimum=True)
_EPOCHS = Bound(integer=False, minimum=0, maximum=10_000, exclusive_minimum=True)
_BATCH = Bound(integer=True, minimum=1, maximum=65_536)
_FRACTION = Bound(integer=False, minimum=0, maximum=1)
_STEPS = Bound(integer=True, minimum=1, maximum=MAX_STEPS)
_TOKENS = Bound(integer=True, minimum=1, maximum=10_000_000)

KNOWN_HYPERPARAMETERS: dict[str, Bound] = {
    "learning_rate": _RATE,
    "lr": _RATE,
    "num_epochs": _EPOCHS,
    "num_train_epochs": _EPOCHS,
    "epochs": _EPOCHS,
    "batch_size": _BATCH,
    "per_device_train_batch_size": _BATCH,
    "per_device_eval_batch_size": _BATCH,
    "micro_batch_size": _BATCH,
    "gradient_accumulation_steps": _BATCH,
    # -1: train for num_epochs instead
    "max_steps": Bound(integer=True, minimum=-1, maximum=MAX_STEPS),
    "warmup_steps": Bound(integer=True, minimum=0, maximum=MAX_STEPS),
    "save_steps": _STEPS,
    "logging_steps": _STEPS,
    "eval_steps": _STEPS,
    "warmup_ratio": _FRACTION,
    "weight_decay": _FRACTION,
    "lora_dropout": _FRACTION,
    "max_seq_length": _TOKENS,
    "max_length": _TOKENS,
    "cutoff_len": _TOKENS,
    "lora_r": Bound(integer=True, minimum=1, maximum=4096),
    "lora_rank": Bound(integer=True, minimum=1, maximum=4096),
    "lora_alpha": Bound(integer=False, minimum=0, maximum=65_536, exclusive_minimum=True),
    "seed": Bound(integer=True, minimum=0, maximum=2**32 - 1),
}

DESCRIPTION = (
    "Passed to the trainer as JSON. Numbers must be finite, integers within ±2^53. Well-known "
    "keys must be of their type and range: "
    + "; ".join(f"`{key}` {bound.describe()}" for key, bound in KNOWN_HYPERPARAMETERS.items())
    + "."
)


def _refuse(key: str, rule: str) -> PydanticCustomError:
    # `entry` names the key, so the diagnostic points at it rather than at the whole mapping.
    return PydanticCustomError("hyperparameter", "must be {rule}", {"entry": key, "rule": rule})


def check_hyperparameters(values: dict[str, HyperparameterValue]) -> dict[str, HyperparameterValue]:
    """Refuse the first value JSON cannot carry exactly or a well-known key out of its range."""
    for key, value in values.items():
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_JSON_INTEGER:
            raise _refuse(
                key, "an integer within ±2^53 (9,007,199,254,740,992), which JSON carries exactly"
            )
        bound = KNOWN_HYPERPARAMETERS.get(key)
        if bound is not None and not bound.allows(value):
            raise _refuse(key, bound.describe())
    return values


def json_schema() -> dict[str, Any]:
    """The mapping's JSON Schema: the well-known keys with their ranges, any other key of the four
    types."""
    return {
        "type": "object",
        "properties": {key: bound.json_schema() for key, bound in KNOWN_HYPERPARAMETERS.items()},
        "additionalProperties": {"type": ["boolean", "integer", "number", "string"]},
    }
