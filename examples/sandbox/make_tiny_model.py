"""Write a tiny causal language model to a folder, as a Model's storageUri would hold it (run with
.venv-train).

    .venv-train/bin/python examples/sandbox/make_tiny_model.py OUTPUT_DIR DATA.csv

A Llama architecture of about 210 thousand parameters with random weights, created from a config,
and a byte-level BPE tokenizer trained on the CSV's text with `tokenizers`: no model hub and no
network. Seeded: the same folder every time.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

SPECIAL = ["<unk>", "<s>", "</s>", "<pad>"]
VOCABULARY = 512


def texts(csv_path: Path) -> list[str]:
    with csv_path.open(encoding="utf-8", newline="") as handle:
        return [" ".join(row.values()) for row in csv.DictReader(handle)]


def tokenizer_from(lines: list[str]) -> PreTrainedTokenizerFast:
    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCABULARY,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(lines, trainer=trainer)
    backend.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", backend.token_to_id("<s>"))]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
    )


def main(output: Path, csv_path: Path) -> None:
    torch.manual_seed(0)
    tokenizer = tokenizer_from(texts(csv_path))
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=96,
        intermediate_size=192,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(output)
    tokenizer.save_pretrained(output)
    print(sum(parameter.numel() for parameter in model.parameters()))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
