"""A tokenizer-free, deliberately high estimate of how many tokens a request puts before the model.

The proxy cannot download each model's tokenizer, so `max_input_tokens` is checked against an
estimate that errs high, per piece of text:

- a run of ASCII letters: one token per 3 letters, rounded up (common English words of up to 8
  letters are one token in GPT- and Llama-style vocabularies, so typical English text comes out
  about 1.3 to
  1.5 times its real count, while rare words and identifiers, split finer by tokenizers, stay
     covered);
- each digit and each ASCII punctuation mark: one token (Llama-style tokenizers split digits);
- each non-ASCII character: one token per 2 UTF-8 bytes, rounded up (2 per Korean or Chinese
  character, which byte-fallback tokenizers rarely exceed);
- a single space: nothing (BPE folds it into the next word); a run of more spaces: one token per
  space after the first (a tokenizer may keep some runs whole, but Llama-2-style vocabularies split
  long ones);
- each other ASCII whitespace or control character (newline, tab, U+0001, ...): one token (a
  byte-fallback tokenizer gives one per byte);
- each chat message: its role's text, and 4 more for the separators around it.

Every text the model server may put into the prompt counts, not only `messages[].content`,
`prompt` and `input`: a message's `name`, `tool_calls` and any other field; `tools` (names,
descriptions and parameter schemas, keys included, since chat templates write them into the prompt);
and any request field the proxy does not know. Only the sampling parameters in `NOT_READ` are left
out. A number is one token (a token id in `prompt` or `input`). What is not text (an image, audio or
video part of a message) counts `MEDIA_PART_TOKENS` per part, its bytes being bounded by the request
size.

Erring high protects the model server (a prompt the proxy admits fits its context) at the price of
refusing some prompts within a few percent of the limit; the model server's own length check
(`--max_model_len`) stays the exact one. Counting stops once the estimate passes `budget`, so the
work per request is bounded by the limit, not by the body's size.
"""

from __future__ import annotations

import re
from typing import Any, Final

MESSAGE_OVERHEAD: Final = 4
MEDIA_PART_TOKENS: Final = 1024  # a high figure for one image in today's vision-language models
MEDIA_PART_TYPES: Final = frozenset(
    {"image_url", "image", "input_image", "input_audio", "audio_url", "video_url", "file"}
)
MEDIA_PAYLOAD_KEYS: Final = frozenset(
    {"url", "data", "file_data", "image_url", "audio_url", "video_url"}
)
NOT_READ: Final = frozenset(
    {
        "model",
        "user",
        "stream",
        "stream_options",
        "n",
        "best_of",
        "seed",
        "temperature",
        "top_p",
        "top_k",
        "min_p",
        "max_tokens",
        "max_completion_tokens",
        "min_tokens",
        "presence_penalty",
        "frequency_penalty",
        "repetition_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "echo",
        "stop",
        "stop_token_ids",
        "ignore_eos",
        "encoding_format",
        "dimensions",
        "parallel_tool_calls",
    }
)
# letters, other scripts, one digit or punctuation mark, a run of spaces, one other ASCII character
_PIECE: Final = re.compile(r"[A-Za-z]+|[^\x00-\x7f]+| +|[\x00-\x7f]")
# The same count with one match per token, so the regex engine counts: up to 3 ASCII letters, a
# space after a space, any other character (a second token for one of 3 or 4 UTF-8 bytes: `_WIDE`).
_TOKEN: Final = re.compile(r"[A-Za-z]{1,3}|(?<= ) |[^A-Za-z ]")
_WIDE: Final = re.compile(r"[^\x00-\u07ff]")
# texts up to this long are counted in one pass (longer ones piece by piece, up to the budget)
WHOLE_COUNT_CHARS: Final = 4096


def _piece_tokens(piece: str) -> int:
    first = piece[0]
    if first == " ":
        return len(piece) - 1
    if first.isascii():
        return (len(piece) + 2) // 3 if first.isalpha() else 1
    return sum((len(char.encode("utf-8", "surrogatepass")) + 1) // 2 for char in piece)


def estimate_text(text: str, budget: int | None = None) -> int:
    """Estimated tokens of one text (see the module docstring), counted until past ``budget``."""
    if len(text) <= WHOLE_COUNT_CHARS:
        total = len(_TOKEN.findall(text))
        if not text.isascii():
            total += len(_WIDE.findall(text))
        if budget is None or total <= budget:
            return total
    return estimate_by_pieces(text, budget)


def estimate_by_pieces(text: str, budget: int | None = None) -> int:
    """``estimate_text`` one piece at a time (a third to a tenth as fast), stopping once past
    ``budget``: for long texts, whose count may stop early."""
    total = 0
    for match in _PIECE.finditer(text):
        total += _piece_tokens(match.group())
        if budget is not None and total > budget:
            break
    return total


class Estimate:
    """A running estimate that stops counting once it is past ``budget`` (``over``)."""

    def __init__(self, budget: int | None = None):
        self.total = 0
        self.budget = budget

    @property
    def over(self) -> bool:
        return self.budget is not None and self.total > self.budget

    def text(self, text: str) -> None:
        if not self.over:
            self.total += estimate_text(
                text, None if self.budget is None else self.budget - self.total
            )

    def value(self, value: Any, keys: bool = True, media: bool = False) -> None:
        """Every string (and, with ``keys``, every object key) and number in ``value``, without
        recursion. ``media``: inside a media part, whose payload (a URL or inline data) is not
        text."""
        if isinstance(value, str):  # most values: one text, counted without the walk
            self.text(value)
            return
        stack: list[tuple[str | None, Any]] = [(None, value)]
        while stack and not self.over:
            key, item = stack.pop()
            if isinstance(item, str):
                if not (media and key in MEDIA_PAYLOAD_KEYS):
                    self.text(item)
            elif isinstance(item, bool) or item is None:
                continue
            elif isinstance(item, (int, float)):
                self.total += 1
            elif isinstance(item, list):
                stack.extend((key, element) for element in item)
            elif isinstance(item, dict):
                for name, element in item.items():
                    if keys:
                        self.text(name)
                    stack.append((name, element))

    def content(self, content: Any) -> None:
        """A message's content: text, or a list of parts, of which media parts count a fixed
        amount."""
        if not isinstance(content, list):
            self.value(content)
            return
        for part in content:
            if not isinstance(part, dict):
                self.value(part, keys=False)
                continue
            fields = dict(part)  # its `type` counts too: a name the proxy does not know is text
            if part.get("type") in MEDIA_PART_TYPES:
                self.total += MEDIA_PART_TOKENS
                self.value(fields, keys=False, media=True)
            else:
                self.value(fields, keys=False)

    def messages(self, messages: list[Any]) -> None:
        for message in messages:
            if self.over:
                return
            self.total += MESSAGE_OVERHEAD
            if not isinstance(message, dict):
                self.value(message)
                continue
            for key, value in message.items():
                if key == "content":
                    self.content(value)
                    continue
                if key != "role":  # the key `role` is in the overhead, its value is not
                    self.text(key)
                self.value(value)


def estimate_request(kind: str, body: dict[str, Any], budget: int | None = None) -> int:
    """Estimated input tokens of a chat, completion or embeddings request body, counted until past
    ``budget``."""
    estimate = Estimate(budget)
    for key, value in body.items():
        if estimate.over:
            break
        if key in NOT_READ:
            continue
        if key == "messages" and kind == "chat" and isinstance(value, list):
            estimate.messages(value)
        elif key in ("prompt", "input"):
            estimate.value(value, keys=False)
        else:
            estimate.value(value)
    return estimate.total


def most_tokens(kind: str, body: dict[str, Any], size: int) -> int | None:
    """An upper bound of ``estimate_request(kind, body)`` without counting, from ``size``, the
    bytes of the JSON text ``body`` was parsed from: a text counts at most its UTF-8 bytes, which
    its JSON text has at least, a number one token for at least one character, and a chat message
    ``MESSAGE_OVERHEAD`` more. None when a message has content parts (a media part counts
    ``MEDIA_PART_TOKENS`` whatever its size). Most requests are far below their limit: this spares
    counting them."""
    messages = body.get("messages")
    if kind != "chat" or not isinstance(messages, list):
        return size
    if any(isinstance(m, dict) and isinstance(m.get("content"), list) for m in messages):
        return None
    return size + MESSAGE_OVERHEAD * len(messages)


def estimate_value(value: Any) -> int:
    """A prompt, input or message content: text, a list of texts, token ids, or content parts."""
    estimate = Estimate()
    estimate.content(value)
    return estimate.total


def estimate_messages(messages: list[Any]) -> int:
    estimate = Estimate()
    estimate.messages(messages)
    return estimate.total
