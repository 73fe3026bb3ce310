"""What `kubectl logs` shows: a start summary, one line per logging step, an end summary.

Plain `key value` lines on stdout, flushed as they are written (a pod's log is read while it runs),
for example

    llmops-train: SFT (lora) of example-base-model@1.0 on customer-support-dataset@v1.0 ->
    s3://models/... step 5/40 epoch 0.62 loss 4.8123 lr 1.20e-03 grad_norm 2.310 3.41 steps/s 1320
    tokens/s
"""

from __future__ import annotations

import math
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO


def peak_memory_mib() -> float:
    """The process's peak resident memory (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Progress:
    stream: TextIO = field(default_factory=lambda: sys.stdout)
    started: float = field(default_factory=time.monotonic)
    history: list[dict[str, Any]] = field(default_factory=list)
    _last_time: float | None = None
    _last_step: int = 0
    _last_tokens: int = 0

    def say(self, text: str) -> None:
        print(f"llmops-train: {text}", file=self.stream, flush=True)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def training_started(self) -> None:
        self._last_time = time.monotonic()

    def step(
        self,
        *,
        step: int,
        total: int,
        epoch: float,
        loss: float,
        learning_rate: float,
        grad_norm: float | None,
        tokens_seen: int,
    ) -> None:
        """One logged optimizer step: the line users read, and a point of the loss history."""
        now = time.monotonic()
        seconds = max(now - (self._last_time or self.started), 1e-9)
        steps_per_second = (step - self._last_step) / seconds
        tokens_per_second = (tokens_seen - self._last_tokens) / seconds
        self._last_time, self._last_step, self._last_tokens = now, step, tokens_seen
        self.history.append(
            {
                "step": step,
                "epoch": round(epoch, 4),
                "loss": _finite(loss),
                "learningRate": learning_rate,
            }
        )
        norm = f"  grad_norm {grad_norm:.3f}" if grad_norm is not None else ""
        print(
            f"step {step}/{total}  epoch {epoch:.2f}  loss {loss:.4f}  lr "
            f"{learning_rate:.2e}{norm}  {steps_per_second:.2f} steps/s  {tokens_per_second:.0f} "
            "tokens/s",
            file=self.stream,
            flush=True,
        )


def _finite(value: float) -> float | None:
    """JSON has no NaN: a diverged loss is recorded as null."""
    return value if math.isfinite(value) else None
