"""Examples to token ids and labels: the loss falls on the assistant's turns only (or on every token
of text).

The conversation is written once with the chat template, the assistant turns located by the length
of the conversation rendered up to each turn, and each token labelled by the characters it covers
(the fast tokenizer's offsets). A base model without a chat template gets DEFAULT_CHAT_TEMPLATE,
saved with the output so that a model server writes prompts exactly as training did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmops.train.errors import TrainerError
from llmops.train.formats import Example

IGNORED = -100  # the label transformers' loss skips
DEFAULT_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + eos_token + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


@dataclass
class Tokenized:
    examples: list[dict[str, list[int]]]
    skipped: int  # examples with no trained token left after truncation
    trained_tokens: int
    tokens: int


def ensure_chat_template(tokenizer: Any) -> str:
    """`base-model` when the tokenizer brings its own template, `llmops-default` when it got
    ours."""
    if tokenizer.eos_token is None:
        raise TrainerError(
            "the base model's tokenizer has no end-of-sequence token: the model could never learn "
            "where an answer ends; add eos_token to its tokenizer_config.json"
        )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if getattr(tokenizer, "chat_template", None):
        return "base-model"
    tokenizer.chat_template = DEFAULT_CHAT_TEMPLATE
    return "llmops-default"


def _render(tokenizer: Any, messages: tuple[tuple[str, str], ...], *, prompt: bool) -> str:
    conversation = [{"role": role, "content": content} for role, content in messages]
    try:
        text = tokenizer.apply_chat_template(
            conversation, tokenize=False, add_generation_prompt=prompt
        )
    except Exception as error:  # jinja2 raises its own kinds from the template
        raise TrainerError(
            f"the base model's chat template cannot write this conversation: {error}"
        ) from None
    return str(text)


def _trained_spans(tokenizer: Any, example: Example) -> tuple[str, list[tuple[int, int]]]:
    """The text to tokenize and the character spans whose tokens are trained."""
    if example.messages is None:
        text = str(example.text) + tokenizer.eos_token
        return text, [(0, len(text))]
    messages = example.messages
    text = _render(tokenizer, messages, prompt=False)
    spans = []
    for index, (role, _) in enumerate(messages):
        if role != "assistant":
            continue
        before = _render(tokenizer, messages[:index], prompt=True) if index else ""
        through = _render(tokenizer, messages[: index + 1], prompt=False)
        if not (text.startswith(through) and through.startswith(before)):
            raise TrainerError(
                f"{example.source}: the chat template writes earlier turns differently once later "
                "ones follow, so the answers cannot be located; set train_on_prompt: true"
            )
        spans.append((len(before), len(through)))
    return text, spans


def tokenize(
    tokenizer: Any, examples: list[Example], *, max_length: int, train_on_prompt: bool
) -> Tokenized:
    tokenized = Tokenized([], 0, 0, 0)
    bos = tokenizer.bos_token
    for example in examples:
        text, spans = _trained_spans(tokenizer, example)
        if train_on_prompt:
            spans = [(0, len(text))]
        encoded = tokenizer(
            text,
            add_special_tokens=not (bos and text.startswith(bos)),
            return_offsets_mapping=True,
            truncation=True,
            max_length=max_length,
        )
        ids = list(encoded["input_ids"])
        labels = [
            token
            if end > begin and any(begin < stop and end > start for start, stop in spans)
            else IGNORED
            for token, (begin, end) in zip(ids, encoded["offset_mapping"], strict=True)
        ]
        trained = sum(label != IGNORED for label in labels)
        if trained == 0:
            tokenized.skipped += 1
            continue
        tokenized.examples.append({"input_ids": ids, "labels": labels})
        tokenized.trained_tokens += trained
        tokenized.tokens += len(ids)
    if not tokenized.examples:
        raise TrainerError(
            f"no example has an answer within max_seq_length={max_length} tokens: raise "
            "max_seq_length or shorten the prompts"
        )
    return tokenized
