"""Each dataset type mapped to what the model trains on.

- `instruction` (the original platform's `sft_pair` CSV: instruction, optional input, output): a
  two-turn conversation, the user's turn being the instruction (and the input below it), the
  assistant's the output.
- `chat` (JSON Lines with `messages`: [{role, content}, ...]): the conversation as written.
- `text` (a `text` column): plain text, every token trained.
Conversations are written with the tokenizer's chat template, the same one a model server applies to
the OpenAI `messages` at serving time, and only the assistant's turns are trained unless
train_on_prompt is set. `preference` pairs (prompt, chosen, rejected) are for DPO, which this
trainer does not run: refused up front.
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler.spec.dataset import REQUIRED_COLUMNS
from llmops.train.errors import TrainerError
from llmops.train.records import Record
from llmops.train.request import TrainingRequest

FORMAT_OF_TYPE = {
    "sft_pair": "instruction",
    "instruction": "instruction",
    "chat": "chat",
    "preference": "preference",
    "text": "text",
}
ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class Example:
    """A conversation (role, content) to write with the chat template, or plain text."""

    messages: tuple[tuple[str, str], ...] | None
    text: str | None
    source: str


def training_format(request: TrainingRequest) -> str:
    """What the job trains on, or TrainerError for what this trainer does not run (checked before
    any data)."""
    if request.method in ("DPO", "RLHF"):
        raise TrainerError(
            f"job_type {request.method} is not supported by llmops-train (it runs SFT and "
            "PRETRAIN); train preference pairs with a DPO trainer image of your own (spec.image), "
            "or train the chosen answers with job_type SFT on an instruction dataset"
        )
    if request.dataset_type == "eval":
        raise TrainerError(
            f"dataset {request.dataset_id} is an `eval` dataset: evaluation data is not trained on"
        )
    chosen = request.dataset_read_as or FORMAT_OF_TYPE.get(request.dataset_type)
    if chosen is None:
        raise TrainerError(
            f"dataset type `{request.dataset_type}` is not one this trainer reads "
            f"({', '.join(FORMAT_OF_TYPE)})"
        )
    if chosen == "preference":
        raise TrainerError(
            f"dataset {request.dataset_id} holds preference pairs (prompt, chosen, rejected), "
            f"which train with DPO; llmops-train runs {request.method} on instruction, chat or "
            "text data"
        )
    if request.finetuning_type == "qlora" and request.gpus == 0:
        raise TrainerError(
            "finetuning_type qlora quantizes the base model to 4 bits with bitsandbytes, which "
            "needs a CUDA GPU; this job has no GPU: use finetuning_type lora"
        )
    if request.method == "PRETRAIN" and chosen != "text":
        raise TrainerError(
            f"job_type PRETRAIN trains on plain text (dataset_type text), not `{chosen}` records"
        )
    return chosen


def _string(record: Record, column: str, *, optional: bool = False) -> str:
    value = record.values.get(column)
    if value is None or (isinstance(value, str) and not value.strip()):
        if optional:
            return ""
        raise TrainerError(f"{record.source}: `{column}` is empty")
    if not isinstance(value, str):
        raise TrainerError(
            f"{record.source}: `{column}` must be text, found {type(value).__name__}"
        )
    return value


def _messages(record: Record) -> tuple[tuple[str, str], ...]:
    raw = record.values.get("messages")
    if not isinstance(raw, list) or not raw:
        raise TrainerError(
            f"{record.source}: `messages` must be a non-empty list of {{role, content}} objects"
        )
    messages = []
    for index, message in enumerate(raw):
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            raise TrainerError(
                f"{record.source}: messages[{index}] must be an object with a text `content`"
            )
        if message.get("role") not in ROLES:
            raise TrainerError(
                f"{record.source}: messages[{index}].role must be one of {', '.join(ROLES)}, "
                f"not {message.get('role')!r}"
            )
        messages.append((str(message["role"]), str(message["content"])))
    if not any(role == "assistant" for role, _ in messages):
        raise TrainerError(
            f"{record.source}: no assistant message: nothing to learn from this conversation"
        )
    return tuple(messages)


def _check_columns(record: Record, chosen: str, dataset_type: str) -> None:
    needed = REQUIRED_COLUMNS[chosen]
    missing = [column for column in needed if column not in record.values]
    if missing:
        found = ", ".join(str(name) for name in record.values) or "nothing"
        raise TrainerError(
            f"{record.source}: column `{missing[0]}` missing: a `{dataset_type}` dataset read as "
            f"{chosen} needs {', '.join(needed)}; found: {found}"
        )


def to_examples(records: list[Record], chosen: str, dataset_type: str) -> list[Example]:
    examples = []
    for record in records:
        _check_columns(record, chosen, dataset_type)
        if chosen == "instruction":
            prompt = _string(record, "instruction")
            extra = _string(record, "input", optional=True)
            user = f"{prompt}\n\n{extra}" if extra else prompt
            examples.append(
                Example(
                    (("user", user), ("assistant", _string(record, "output"))), None, record.source
                )
            )
        elif chosen == "chat":
            examples.append(Example(_messages(record), None, record.source))
        else:
            examples.append(Example(None, _string(record, "text"), record.source))
    return examples
