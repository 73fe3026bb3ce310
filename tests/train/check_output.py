"""Load what the trainer wrote back, as a model server would, and measure it (run with .venv-train).

    python tests/train/check_output.py BASE_DIR OUTPUT_DIR DATA.csv

Prints JSON: the output's kind, the mean loss of the base model and of the trained one on the
dataset's conversations (written with the output's own chat template), and a reply generated for the
first instruction.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def conversations(data: Path) -> list[list[dict[str, str]]]:
    with data.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        [
            {
                "role": "user",
                "content": f"{row['instruction']}\n\n{row['input']}"
                if row["input"]
                else row["instruction"],
            },
            {"role": "assistant", "content": row["output"]},
        ]
        for row in rows
    ]


def mean_loss(
    model: torch.nn.Module, tokenizer: object, chats: list[list[dict[str, str]]]
) -> float:
    losses = []
    with torch.no_grad():
        for chat in chats:
            ids = tokenizer(
                tokenizer.apply_chat_template(chat, tokenize=False), return_tensors="pt"
            )["input_ids"]
            losses.append(float(model(input_ids=ids, labels=ids).loss))
    return sum(losses) / len(losses)


def main(base: Path, output: Path, data: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(output)
    chats = conversations(data)
    base_model = AutoModelForCausalLM.from_pretrained(base).eval()
    base_loss = mean_loss(base_model, tokenizer, chats)
    if (output / "adapter_config.json").is_file():
        from peft import PeftModel

        trained = PeftModel.from_pretrained(
            AutoModelForCausalLM.from_pretrained(base), output
        ).eval()
        kind = "adapter"
    else:
        trained = AutoModelForCausalLM.from_pretrained(output).eval()
        kind = "model"
    prompt = tokenizer.apply_chat_template(chats[0][:1], tokenize=False, add_generation_prompt=True)
    ids = tokenizer(prompt, return_tensors="pt")
    with torch.no_grad():
        generated = trained.generate(
            **ids, max_new_tokens=12, do_sample=False, pad_token_id=tokenizer.pad_token_id
        )
    reply = tokenizer.decode(generated[0][ids["input_ids"].shape[1] :], skip_special_tokens=True)
    print(
        json.dumps(
            {
                "kind": kind,
                "baseLoss": base_loss,
                "trainedLoss": mean_loss(trained, tokenizer, chats),
                "newTokens": int(generated.shape[1] - ids["input_ids"].shape[1]),
                "reply": reply,
            }
        )
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
