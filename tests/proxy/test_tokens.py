"""The token estimate errs high for typical text, never exceeds the text's UTF-8 length, and counts
every text a request puts before the model (tools, names, media parts), stopping once past a
budget."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from llmops.proxy.tokens import (
    MEDIA_PART_TOKENS,
    MESSAGE_OVERHEAD,
    WHOLE_COUNT_CHARS,
    estimate_by_pieces,
    estimate_messages,
    estimate_request,
    estimate_text,
    estimate_value,
    most_tokens,
)


def test_english_is_overestimated_modestly() -> None:
    text = "Hello! Can you help me reset the password of my account, please?"
    # 14 words; GPT- and Llama-style tokenizers give about 15-16 tokens
    assert 16 <= estimate_text(text) <= 24


def test_digits_and_punctuation_count_one_each() -> None:
    assert estimate_text("2025-01-15") == 10
    assert estimate_text("...") == 3


def test_korean_counts_two_per_syllable() -> None:
    assert estimate_text("안녕하세요") == 10


def test_a_single_space_is_free_and_other_whitespace_counts() -> None:
    assert estimate_text("abc abc") == 2
    assert estimate_text("abc   abc") == 4  # two spaces beyond the first
    assert estimate_text("   \n\t ") == 4
    assert estimate_text(" " * 1000) == 999
    assert estimate_text("\n" * 1000) == estimate_text("\t" * 1000) == 1000
    assert estimate_text("\x01\x7f\x00") == 3


def test_values_and_messages() -> None:
    assert estimate_value([1, 2, 3]) == 3  # token ids
    assert estimate_value(["abc", "abc"]) == 2
    # each part's type is text too: "text" 2, "image_url" 4
    assert (
        estimate_value([{"type": "text", "text": "abcdef"}, {"type": "image_url"}])
        == 2 + 2 + 4 + MEDIA_PART_TOKENS
    )
    assert (
        estimate_messages(
            [{"role": "user", "content": "abc"}, {"role": "assistant", "content": None}]
        )
        == 2 * MESSAGE_OVERHEAD + 1 + 2 + 3  # roles "user" 2, "assistant" 3
    )


@given(st.text())
def test_never_above_utf8_length(text: str) -> None:
    assert estimate_text(text) <= len(text.encode("utf-8", "surrogatepass"))


# any character, surrogates included (JSON can carry a lone one as an escape)
ANY_TEXT = st.text(st.characters(blacklist_categories=()))
TYPICAL = st.lists(
    st.sampled_from(
        [
            "abc",
            "abcd",
            " ",
            "  ",
            "\n",
            "7",
            "!",
            "é",
            "한",
            "😀",
            "\ud800",
            "\u07ff",
            "\u0800",
            "Zz",
        ]
    ),
    max_size=40,
).map("".join)


@given(ANY_TEXT | TYPICAL, st.none() | st.integers(0, 60))
def test_the_one_pass_count_is_the_count_piece_by_piece(text: str, budget: int | None) -> None:
    """Texts up to WHOLE_COUNT_CHARS are counted in one pass of the regex engine: the same number
    as counting piece by piece, and past a budget the same partial count."""
    assert estimate_text(text, budget) == estimate_by_pieces(text, budget)


def test_a_long_text_is_counted_piece_by_piece_up_to_the_budget() -> None:
    text = "abc " * WHOLE_COUNT_CHARS
    assert estimate_text(text) == WHOLE_COUNT_CHARS
    assert estimate_text(text, budget=10) == 11


JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | (ANY_TEXT | TYPICAL),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT | TYPICAL, inner, max_size=4)
    ),
    max_leaves=12,
)
MESSAGE = st.fixed_dictionaries(
    {"role": ANY_TEXT | TYPICAL},
    optional={
        "content": st.none() | ANY_TEXT | TYPICAL,
        "name": ANY_TEXT,
        "tool_calls": JSON_VALUE,
    },
)


@given(
    st.sampled_from(["chat", "completion", "embeddings"]),
    st.lists(MESSAGE | JSON_VALUE, max_size=5),
    st.dictionaries(st.sampled_from(["prompt", "input", "tools", "user", "other"]), JSON_VALUE),
    st.booleans(),
)
def test_a_body_too_small_to_reach_the_limit_is_never_counted_below_its_estimate(
    kind: str, messages: list[Any], fields: dict[str, Any], ascii_only: bool
) -> None:
    """`most_tokens` lets the proxy skip counting a body whose JSON text is too short to reach
    `max_input_tokens`: it must never be below the count it spares, however the body is written."""
    body = {"messages": messages, **fields}
    size = len(json.dumps(body, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass"))
    bound = most_tokens(kind, body, size)
    assert bound is None or estimate_request(kind, body) <= bound


def test_a_message_with_content_parts_is_always_counted() -> None:
    body = {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": "x"}]}]}
    assert most_tokens("chat", body, 80) is None
    assert estimate_request("chat", body) > MEDIA_PART_TOKENS
