"""Supervised fine-tuning with transformers' Trainer, LoRA adapters through peft. The only module
importing torch.

The base model is loaded from its storage URI (a Hugging Face model folder: config.json, weights,
tokenizer), never from a model hub: HF_HUB_OFFLINE is set before transformers is imported.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops.train.cpus import torch_threads
from llmops.train.errors import TrainerError
from llmops.train.formats import Example
from llmops.train.hyperparameters import Hyperparameters
from llmops.train.progress import Progress
from llmops.train.request import TrainingRequest
from llmops.train.storage import local_copy
from llmops.train.tokenization import IGNORED, ensure_chat_template, tokenize

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

import torch  # after the variables above, which transformers reads at import
import transformers
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoTokenizer,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)
from transformers.trainer_callback import PrinterCallback, ProgressCallback


@dataclass
class Outcome:
    folder: Path  # what goes to the output URI
    files: list[str]  # relative to folder, the metadata file excluded
    kind: str  # `adapter` or `model`
    chat_template: str
    base: dict[str, Any]
    metrics: dict[str, Any]
    device: str


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _device(request: TrainingRequest) -> str:
    if request.gpus == 0:
        return "cpu"
    if not torch.cuda.is_available():
        raise TrainerError(
            f"the job asks for {request.gpus} GPU(s) but PyTorch {torch.__version__} sees none; "
            "the default trainer image is a CPU build: give GPU jobs a CUDA build of it "
            "(spec.image)"
        )
    return "cuda"


def _load(request: TrainingRequest, scratch: Path, device: str) -> tuple[Any, Any, dict[str, Any]]:
    folder = local_copy(request.base_model_uri, scratch / "base")
    try:
        config = AutoConfig.from_pretrained(folder, local_files_only=True)
    except (ValueError, KeyError, OSError) as error:
        raise TrainerError(
            f"{request.base_model_uri}: transformers {transformers.__version__} cannot read its "
            f"config.json: {_first_line(error)}"
        ) from None
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except (ValueError, KeyError, OSError, TypeError) as error:
        raise TrainerError(
            f"{request.base_model_uri}: no usable tokenizer: {_first_line(error)}"
        ) from None
    if not getattr(tokenizer, "is_fast", False):
        raise TrainerError(
            f"{request.base_model_uri}: the tokenizer has no fast (tokenizer.json) form, which the "
            "trainer needs to locate answers in conversations"
        )
    options: dict[str, Any] = {"local_files_only": True, "dtype": torch.float32}
    if (
        device == "cuda"
        and request.finetuning_type in ("lora", "qlora")
        and torch.cuda.is_bf16_supported()
    ):
        options["dtype"] = torch.bfloat16  # frozen base weights; the adapters train in float32
    if request.finetuning_type == "qlora":
        options["quantization_config"] = _four_bit()
    try:
        model = AutoModelForCausalLM.from_pretrained(folder, **options)
    except (ValueError, KeyError, OSError, RuntimeError) as error:
        raise TrainerError(
            f"{request.base_model_uri}: cannot load the weights as a causal language model: "
            f"{_first_line(error)}"
        ) from None
    base = {
        "architecture": getattr(config, "model_type", None),
        "parameters": sum(parameter.numel() for parameter in model.parameters()),
    }
    return model, tokenizer, base


def _four_bit() -> Any:
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise TrainerError(
            "finetuning_type qlora needs bitsandbytes, which this image does not have; use "
            "finetuning_type lora, or an image with bitsandbytes (spec.image)"
        ) from None
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16
    )


def _with_adapters(model: Any, request: TrainingRequest, settings: Hyperparameters) -> Any:
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if request.finetuning_type == "qlora":
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=settings.gradient_checkpointing
        )
    config = LoraConfig(
        r=settings.lora_r,
        lora_alpha=settings.lora_alpha,
        lora_dropout=settings.lora_dropout,
        target_modules=settings.lora_target_modules,
        task_type="CAUSAL_LM",
        bias="none",
    )
    try:
        return get_peft_model(model, config)
    except ValueError as error:
        raise TrainerError(f"lora_target_modules: {_first_line(error)}") from None


class _Examples(torch.utils.data.Dataset):  # type: ignore[misc]
    def __init__(self, rows: list[dict[str, list[int]]]):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, list[int]]:
        return self.rows[index]


def _collator(pad_id: int) -> Any:
    def collate(rows: list[dict[str, list[int]]]) -> dict[str, Any]:
        width = max(len(row["input_ids"]) for row in rows)
        ids = [row["input_ids"] + [pad_id] * (width - len(row["input_ids"])) for row in rows]
        labels = [row["labels"] + [IGNORED] * (width - len(row["labels"])) for row in rows]
        mask = [[1] * len(row["input_ids"]) + [0] * (width - len(row["input_ids"])) for row in rows]
        return {
            "input_ids": torch.tensor(ids),
            "labels": torch.tensor(labels),
            "attention_mask": torch.tensor(mask),
        }

    return collate


class _LogSteps(TrainerCallback):  # type: ignore[misc]
    """transformers' log events as the trainer's progress lines (tqdm bars are off: they garble pod
    logs)."""

    def __init__(self, progress: Progress, plan: str):
        self.progress = progress
        self.plan = plan

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.progress.say(f"training: {state.max_steps} steps, {self.plan}")
        self.progress.training_started()

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if not logs or "loss" not in logs:
            return
        loss = float(logs["loss"])
        self.progress.step(
            step=state.global_step,
            total=state.max_steps,
            epoch=float(logs.get("epoch") or 0),
            loss=loss,
            learning_rate=float(logs.get("learning_rate") or 0.0),
            grad_norm=float(logs["grad_norm"]) if logs.get("grad_norm") is not None else None,
            tokens_seen=int(getattr(state, "num_input_tokens_seen", 0) or 0),
        )
        if not math.isfinite(loss):
            raise TrainerError(
                f"training diverged: the loss is {loss} at step {state.global_step}; lower "
                "learning_rate or raise warmup"
            )


def _quiet() -> None:
    """Only the trainer's own lines in the log: no progress bars (they garble a pod's log), no
    library advice about deprecated arguments (nothing a job's author can act on)."""
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="peft")


def _save(
    model: Any, tokenizer: Any, folder: Path, request: TrainingRequest, adapters: bool
) -> list[str]:
    """The model (or adapter) and the tokenizer with the chat template training used, in Hugging
    Face layout."""
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    # peft's empty model card; llmops-training.json says it all
    (folder / "README.md").unlink(missing_ok=True)
    adapter_config = folder / "adapter_config.json"
    # name the base by its URI, not the scratch folder it was read from
    if adapters and adapter_config.is_file():
        document = json.loads(adapter_config.read_text(encoding="utf-8"))
        document["base_model_name_or_path"] = request.base_model_uri
        adapter_config.write_text(
            json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def train(
    request: TrainingRequest,
    settings: Hyperparameters,
    examples: list[Example],
    scratch: Path,
    progress: Progress,
) -> Outcome:
    device = _device(request)
    _quiet()
    threads = torch_threads(os.environ)
    if device == "cpu" and threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(settings.seed)
    model, tokenizer, base = _load(request, scratch, device)
    where = f"cpu, {torch.get_num_threads()} threads" if device == "cpu" else device
    progress.say(
        f"base model: {base['architecture']}, {base['parameters']:,} parameters, on {where}"
    )
    chat_template = ensure_chat_template(tokenizer)
    tokenized = tokenize(
        tokenizer,
        examples,
        max_length=settings.max_seq_length,
        train_on_prompt=settings.train_on_prompt,
    )
    skipped = (
        f", {tokenized.skipped} skipped (no answer within max_seq_length)"
        if tokenized.skipped
        else ""
    )
    progress.say(
        f"tokenized: {len(tokenized.examples)} examples, {tokenized.tokens} tokens, "
        f"{tokenized.trained_tokens} trained{skipped}; chat template: {chat_template}"
    )
    adapters = request.finetuning_type in ("lora", "qlora")
    if adapters:
        model = _with_adapters(model, request, settings)
    trainable = sum(
        parameter.numel() for parameter in model.parameters() if parameter.requires_grad
    )
    arguments = TrainingArguments(
        output_dir=str(scratch / "checkpoints"),
        per_device_train_batch_size=settings.batch_size,
        num_train_epochs=settings.num_epochs,
        max_steps=settings.max_steps or -1,
        learning_rate=settings.learning_rate,
        lr_scheduler_type=settings.lr_scheduler_type,
        warmup_steps=settings.warmup,
        weight_decay=settings.weight_decay,
        max_grad_norm=settings.max_grad_norm,
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
        logging_strategy="steps",
        logging_steps=settings.logging_steps,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=settings.seed,
        data_seed=settings.seed,
        use_cpu=device == "cpu",
        bf16=device == "cuda" and torch.cuda.is_bf16_supported(),
        remove_unused_columns=False,
        include_num_input_tokens_seen="non_padding",
        dataloader_pin_memory=False,
        log_level="error",
        **({"gradient_checkpointing": True} if settings.gradient_checkpointing else {}),
    )
    plan = (
        f"{trainable:,} trainable parameters ({'LoRA adapters' if adapters else 'every weight'}), "
        f"lr {settings.learning_rate:g}, batch {settings.batch_size} x "
        f"{settings.gradient_accumulation_steps}"
    )
    trainer = Trainer(
        model=model,
        args=arguments,
        train_dataset=_Examples(tokenized.examples),
        data_collator=_collator(tokenizer.pad_token_id),
        callbacks=[_LogSteps(progress, plan)],
    )
    trainer.remove_callback(PrinterCallback)  # it prints raw dicts; _LogSteps writes the lines
    trainer.remove_callback(ProgressCallback)
    result = trainer.train()
    folder = scratch / "output"
    files = _save(model, tokenizer, folder, request, adapters)
    losses = [point["loss"] for point in progress.history if point["loss"] is not None]
    metrics = {
        "steps": result.global_step,
        "epochs": round(float(trainer.state.epoch or 0), 4),
        "firstLoss": losses[0] if losses else None,
        "finalLoss": losses[-1] if losses else None,
        "meanLoss": float(result.training_loss),
        "examples": len(tokenized.examples),
        "skippedExamples": tokenized.skipped,
        "tokens": tokenized.tokens,
        "trainedTokens": tokenized.trained_tokens,
        "trainableParameters": trainable,
        "trainSeconds": round(float(result.metrics.get("train_runtime", 0.0)), 3),
    }
    return Outcome(
        folder, files, "adapter" if adapters else "model", chat_template, base, metrics, device
    )
