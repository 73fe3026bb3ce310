"""A tokenizer-free, deliberately high estimate of how many tokens a text is.

The proxy cannot download each model's tokenizer, so `max_input_tokens` is checked against an estimate
that errs high, per piece of text:

- a run of ASCII letters: one token per 3 letters, rounded up (common English words of up to 8 letters
  are one token in GPT- and Llama-style vocabularies, so typical English text comes out about 1.3 to
  1.5 times its real count, while rare words and identifiers, split finer by tokenizers, stay covered);
- each digit and each ASCII punctuation mark: one token (Llama-style tokenizers split digits);
- each non-ASCII character: one token per 2 UTF-8 bytes, rounded up (2 per Korean or Chinese
  character, which byte-fallback tokenizers rarely exceed);
- whitespace: nothing (BPE folds it into the next word);
- each chat message: 4 more, for its role and separators.

Erring high protects the model server (a prompt the proxy admits fits its context) at the price of
refusing some prompts within a few percent of the limit; the model server's own length check
(`--max_model_len`) stays the exact one. The estimate never exceeds the text's UTF-8 length, so a
request body no longer than the limit needs no counting at all.
"""

from __future__ import annotations

import re
from typing import Any

MESSAGE_OVERHEAD = 4
_PIECE = re.compile(r"[A-Za-z]+|[^\x00-\x7f]+|[0-9!-/:-@\[-`{-~]")


def estimate_text(text: str) -> int:
    """Estimated tokens of one text (see the module docstring for the rules)."""
    total = 0
    for match in _PIECE.finditer(text):
        piece = match.group()
        first = piece[0]
        if first.isascii():
            total += (len(piece) + 2) // 3 if first.isalpha() else 1
        else:
            total += sum((len(char.encode()) + 1) // 2 for char in piece)
    return total


def estimate_value(value: Any) -> int:
    """A prompt, input or message content: text, a list of texts, token ids, or content parts."""
    if isinstance(value, str):
        return estimate_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return 1  # a token id
    if isinstance(value, list):
        return sum(estimate_value(item) for item in value)
    if isinstance(value, dict):  # an OpenAI content part: {"type": "text", "text": ...}
        text = value.get("text")
        return estimate_text(text) if isinstance(text, str) else 0
    return 0


def estimate_messages(messages: list[Any]) -> int:
    total = 0
    for message in messages:
        total += MESSAGE_OVERHEAD
        if isinstance(message, dict):
            total += estimate_value(message.get("content"))
    return total
