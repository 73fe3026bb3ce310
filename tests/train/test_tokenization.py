"""The loss falls on the answers: the assistant's turns, with the end-of-sequence token that ends
each one.

Checked with the tiny model's tokenizer (no chat template of its own, so the trainer's default one
is used and saved): the trained text of each example is exactly its answers, whatever the prompt and
system turns around them.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.estate import PROJECT_ROOT
from tests.train.contract import ensure_train_venv

pytestmark = pytest.mark.slow
SHOW_LABELS = Path(__file__).with_name("show_labels.py")


def _labels(tiny_model: Path, tmp_path: Path, request: dict[str, Any]) -> dict[str, Any]:
    (tmp_path / "examples.json").write_text(json.dumps(request), encoding="utf-8")
    command = [
        str(ensure_train_venv()),
        str(SHOW_LABELS),
        str(tiny_model),
        str(tmp_path / "examples.json"),
    ]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=PROJECT_ROOT,
        env={"PYTHONPATH": str(PROJECT_ROOT), "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr
    shown: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return shown


def test_only_the_assistant_turns_are_trained(tiny_model: Path, tmp_path: Path) -> None:
    chat = [
        ["system", "You are terse."],
        ["user", "Track an order"],
        ["assistant", "It left yesterday."],
        ["user", "And the refund?"],
        ["assistant", "Sent today."],
    ]
    shown = _labels(
        tiny_model, tmp_path, {"examples": [{"messages": chat}, {"text": "Plain text to learn."}]}
    )
    assert shown["template"] == "llmops-default"
    conversation, text = shown["examples"]
    assert conversation["text"] == (
        "<s><|system|>\nYou are terse.</s>\n<|user|>\nTrack an order</s>\n<|assistant|>\n"
        "It left yesterday.</s>\n<|user|>\nAnd the refund?</s>\n<|assistant|>\n"
        "Sent today.</s>\n"
    )
    assert conversation["trained"] == "It left yesterday.</s>\nSent today.</s>\n"
    assert text == {"text": "<s>Plain text to learn.</s>", "trained": "Plain text to learn.</s>"}


def test_train_on_prompt_trains_every_token_and_truncation_skips_answerless_examples(
    tiny_model: Path, tmp_path: Path
) -> None:
    chat = [["user", "Track an order " * 20], ["assistant", "It left yesterday."]]
    everything = _labels(
        tiny_model, tmp_path, {"examples": [{"messages": chat}], "train_on_prompt": True}
    )
    (example,) = everything["examples"]
    assert example["trained"] == example["text"].removeprefix("<s>")
    cut = _labels(
        tiny_model,
        tmp_path,
        {"examples": [{"messages": chat}, {"messages": chat[1:]}], "max_length": 20},
    )
    assert cut["skipped"] == 1 and len(cut["examples"]) == 1
