"""LoRA adapters served beside their base model: KServe's `storageUris` download the base and each
adapter into their own folders, and the Hugging Face runtime's vLLM backend loads them
(`--enable-lora`, `--lora-modules NAME=PATH`), registering each under its name so that a request's
OpenAI `model` field selects it.

KServe 0.16 added `spec.predictor.storageUris` and the runtime's registration of LoRA modules; the
vLLM backend (GPUs, rule M007) is the one that loads adapters.
"""

from __future__ import annotations

from compiler.capacity.adapters import BASE_MODEL_DIR, ServedAdapter, max_lora_rank
from compiler.resolve.manifest import Manifest
from compiler.spec.model import ModelSpec


def lora_args(adapters: list[ServedAdapter]) -> list[str]:
    """The runtime arguments that load the adapters (vLLM's dashed spelling; the runtime passes
    them on to vLLM)."""
    if not adapters:
        return []
    args = [f"--model_dir={BASE_MODEL_DIR}", "--enable-lora", f"--max-loras={len(adapters)}"]
    rank = max_lora_rank(adapters)
    if rank is not None:
        args.append(f"--max-lora-rank={rank}")
    args.append("--lora-modules")
    args.extend(f"{adapter.served_name}={adapter.path}" for adapter in adapters)
    return args


def storage_uris(base: Manifest[ModelSpec], adapters: list[ServedAdapter]) -> list[dict[str, str]]:
    """KServe's `storageUris`: the base and each adapter in a folder of its own below
    /mnt/models."""
    return [
        {"uri": str(base.spec.storage_uri), "mountPath": BASE_MODEL_DIR},
        *({"uri": str(a.model.spec.storage_uri), "mountPath": a.path} for a in adapters),
    ]
