"""Well-known models and their published shapes, for Models that name a `preset` instead of the
numbers.

Each row is the model's public Hugging Face `config.json` (the file vLLM reads):
`num_hidden_layers`, `num_attention_heads`, `num_key_value_heads` (equal to the attention heads
where the config has none: multi-head attention), `head_dim` (`hidden_size / num_attention_heads`
where the config has none), `hidden_size` and `max_position_embeddings`. `parameters` is the count
the model page shows (from the safetensors metadata), to 10 million. Instruct and base checkpoints
share a row: their shapes are the same (for Qwen2.5 the row takes the Instruct config's 32,768-token
context, which is what vLLM serves without a rope-scaling override).

Gemma 2 and Mistral use sliding-window attention on some layers; the KV estimate counts every layer
at full length, which over-estimates their cache (the safe side for a "does it fit" check).

A Model's own metadata always wins over its preset (`compiler/capacity/facts.py`).
"""

from __future__ import annotations

import re

from compiler.records import record


@record(eq=False, repr=False, slots=True)
class ModelPreset:
    """The architecture numbers of a known base model, from its published config.json."""

    name: str
    parameters: int
    layers: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    hidden_size: int
    context_length: int
    source: str  # the config.json the numbers come from


def _hf(repo: str) -> str:
    return f"https://huggingface.co/{repo}/blob/main/config.json"


_ROWS = (
    # name, parameters, layers, heads, kv heads, head dim, hidden, context, source
    ("llama-2-7b", 6_740_000_000, 32, 32, 32, 128, 4096, 4096, _hf("meta-llama/Llama-2-7b-hf")),
    ("llama-2-13b", 13_020_000_000, 40, 40, 40, 128, 5120, 4096, _hf("meta-llama/Llama-2-13b-hf")),
    ("llama-2-70b", 68_980_000_000, 80, 64, 8, 128, 8192, 4096, _hf("meta-llama/Llama-2-70b-hf")),
    ("llama-3-8b", 8_030_000_000, 32, 32, 8, 128, 4096, 8192, _hf("meta-llama/Meta-Llama-3-8B")),
    ("llama-3-70b", 70_550_000_000, 80, 64, 8, 128, 8192, 8192, _hf("meta-llama/Meta-Llama-3-70B")),
    ("llama-3.1-8b", 8_030_000_000, 32, 32, 8, 128, 4096, 131072, _hf("meta-llama/Llama-3.1-8B")),
    (
        "llama-3.1-70b",
        70_550_000_000,
        80,
        64,
        8,
        128,
        8192,
        131072,
        _hf("meta-llama/Llama-3.1-70B"),
    ),
    (
        "llama-3.1-405b",
        405_850_000_000,
        126,
        128,
        8,
        128,
        16384,
        131072,
        _hf("meta-llama/Llama-3.1-405B"),
    ),
    ("llama-3.2-1b", 1_240_000_000, 16, 32, 8, 64, 2048, 131072, _hf("meta-llama/Llama-3.2-1B")),
    ("llama-3.2-3b", 3_210_000_000, 28, 24, 8, 128, 3072, 131072, _hf("meta-llama/Llama-3.2-3B")),
    ("mistral-7b", 7_250_000_000, 32, 32, 8, 128, 4096, 32768, _hf("mistralai/Mistral-7B-v0.3")),
    (
        "mixtral-8x7b",
        46_700_000_000,
        32,
        32,
        8,
        128,
        4096,
        32768,
        _hf("mistralai/Mixtral-8x7B-v0.1"),
    ),
    ("qwen2.5-0.5b", 490_000_000, 24, 14, 2, 64, 896, 32768, _hf("Qwen/Qwen2.5-0.5B-Instruct")),
    ("qwen2.5-1.5b", 1_540_000_000, 28, 12, 2, 128, 1536, 32768, _hf("Qwen/Qwen2.5-1.5B-Instruct")),
    ("qwen2.5-3b", 3_090_000_000, 36, 16, 2, 128, 2048, 32768, _hf("Qwen/Qwen2.5-3B-Instruct")),
    ("qwen2.5-7b", 7_620_000_000, 28, 28, 4, 128, 3584, 32768, _hf("Qwen/Qwen2.5-7B-Instruct")),
    ("qwen2.5-14b", 14_770_000_000, 48, 40, 8, 128, 5120, 32768, _hf("Qwen/Qwen2.5-14B-Instruct")),
    ("qwen2.5-32b", 32_760_000_000, 64, 40, 8, 128, 5120, 32768, _hf("Qwen/Qwen2.5-32B-Instruct")),
    ("qwen2.5-72b", 72_710_000_000, 80, 64, 8, 128, 8192, 32768, _hf("Qwen/Qwen2.5-72B-Instruct")),
    ("gemma-2b", 2_510_000_000, 18, 8, 1, 256, 2048, 8192, _hf("google/gemma-2b")),
    ("gemma-7b", 8_540_000_000, 28, 16, 16, 256, 3072, 8192, _hf("google/gemma-7b")),
    ("gemma-2-2b", 2_610_000_000, 26, 8, 4, 256, 2304, 8192, _hf("google/gemma-2-2b")),
    ("gemma-2-9b", 9_240_000_000, 42, 16, 8, 256, 3584, 8192, _hf("google/gemma-2-9b")),
    ("gemma-2-27b", 27_230_000_000, 46, 32, 16, 128, 4608, 8192, _hf("google/gemma-2-27b")),
    (
        "phi-3-mini-4k",
        3_820_000_000,
        32,
        32,
        32,
        96,
        3072,
        4096,
        _hf("microsoft/Phi-3-mini-4k-instruct"),
    ),
    (
        "phi-3-mini-128k",
        3_820_000_000,
        32,
        32,
        32,
        96,
        3072,
        131072,
        _hf("microsoft/Phi-3-mini-128k-instruct"),
    ),
    (
        "phi-3-medium-4k",
        13_960_000_000,
        40,
        40,
        10,
        128,
        5120,
        4096,
        _hf("microsoft/Phi-3-medium-4k-instruct"),
    ),
)

PRESETS: dict[str, ModelPreset] = {row[0]: ModelPreset(*row) for row in _ROWS}


def preset_family(preset: ModelPreset) -> tuple[str, str]:
    """The family and generation in a preset's name: `llama-3.1-8b` -> (`llama`, `3.1`),
    `mistral-7b` -> (`mistral`, ``), `qwen2.5-7b` -> (`qwen`, `2.5`)."""
    first, *rest = preset.name.split("-")
    family, version = _family_and_version(first)
    if not version and len(rest) > 1 and re.fullmatch(r"[0-9]+(?:\.[0-9]+)*", rest[0]):
        version = rest[0]
    return family, version


def nominal_parameters(preset: ModelPreset) -> int | None:
    """The size in the preset's name (`llama-2-7b` -> 7e9), which model cards call it by; None
    without one."""
    match = re.search(r"-([0-9]+(?:\.[0-9]+)?)b$", preset.name)
    return None if match is None else round(float(match.group(1)) * 10**9)


def presets_matching(model_family: str, parameters: int) -> list[ModelPreset]:
    """The presets a Model naming no preset may be: its `model_family` (`llama`, or with a
    generation, `llama3`, `qwen2.5`) and its size, either the one in the preset's name (`7B` for
    `llama-2-7b`) or within 1 % of the preset's exact count."""
    family, version = _family_and_version(model_family)
    if not family:
        return []
    matches = []
    for preset in PRESETS.values():
        preset_name, preset_version = preset_family(preset)
        if preset_name != family or (
            version and preset_version != version and not preset_version.startswith(version + ".")
        ):
            continue
        if (
            nominal_parameters(preset) == parameters
            or abs(preset.parameters - parameters) * 100 <= preset.parameters
        ):
            matches.append(preset)
    return matches


def _family_and_version(text: str) -> tuple[str, str]:
    """`Llama 3.1` -> (`llama`, `3.1`); `qwen2` -> (`qwen`, `2`); `mistral` -> (`mistral`, ``)."""
    match = re.match(r"([a-z]*)[\s_-]*([0-9]+(?:\.[0-9]+)*)?", text.strip().lower())
    assert match is not None  # every part of the pattern may be empty
    return match.group(1), match.group(2) or ""
