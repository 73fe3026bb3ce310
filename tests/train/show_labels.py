"""Which text of each example the loss falls on (run with .venv-train).

    python tests/train/show_labels.py TOKENIZER_DIR EXAMPLES.json

EXAMPLES.json: a list of {"messages": [[role, content], ...]} or {"text": ...}, and
{"train_on_prompt": bool}. Prints JSON: for each example, the whole text and the text of the tokens
that are trained.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from transformers import AutoTokenizer

from llmops.train.formats import Example
from llmops.train.tokenization import IGNORED, ensure_chat_template, tokenize


def main(tokenizer_dir: Path, examples_file: Path) -> None:
    request = json.loads(examples_file.read_text(encoding="utf-8"))
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    template = ensure_chat_template(tokenizer)
    examples = [
        Example(
            tuple(map(tuple, item["messages"])) if "messages" in item else None,
            item.get("text"),
            "x",
        )
        for item in request["examples"]
    ]
    tokenized = tokenize(
        tokenizer,
        examples,
        max_length=request.get("max_length", 1024),
        train_on_prompt=request.get("train_on_prompt", False),
    )
    shown = [
        {
            "text": tokenizer.decode(row["input_ids"]),
            "trained": tokenizer.decode(
                [
                    token
                    for token, label in zip(row["input_ids"], row["labels"], strict=True)
                    if label != IGNORED
                ]
            ),
        }
        for row in tokenized.examples
    ]
    print(json.dumps({"template": template, "skipped": tokenized.skipped, "examples": shown}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
