"""Greedy reply of a model folder to one user message, straight from transformers (run with
.venv-train): the reference a served answer is compared with.

    python tests/train/generate_reply.py TOKENIZER_DIR MESSAGE MAX_NEW_TOKENS WEIGHTS_DIR...

The prompt is the user message written with TOKENIZER_DIR's chat template (the trainer saves the one
it trained with), so a base model's random weights can be asked the same question. Prints one JSON
list: each WEIGHTS_DIR's reply, in order.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def reply(weights: Path, tokenizer: Any, message: str, max_new_tokens: int) -> dict[str, Any]:
    model = AutoModelForCausalLM.from_pretrained(weights).eval()
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": message}], tokenize=False, add_generation_prompt=True
    )
    ids = tokenizer(prompt, add_special_tokens=not prompt.startswith(tokenizer.bos_token))
    with torch.inference_mode():
        generated = model.generate(
            input_ids=torch.tensor([ids["input_ids"]]),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
        )
    new = generated[0][len(ids["input_ids"]) :].tolist()
    return {"reply": tokenizer.decode(new, skip_special_tokens=True), "tokens": new}


def main(tokenizer_dir: Path, message: str, max_new_tokens: int, weights: list[Path]) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    print(json.dumps([reply(folder, tokenizer, message, max_new_tokens) for folder in weights]))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), [Path(a) for a in sys.argv[4:]])
