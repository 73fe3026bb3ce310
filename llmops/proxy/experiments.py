"""Prompt A/B experiments: which template a user gets, how it is applied, and what each variant did.

- Assignment is sticky: a user's bucket (0-99) is a hash of the experiment id and the user id, so
  the same user always gets the same variant, on every proxy replica and after restarts; buckets
  below `allocation` get template A, the rest B.
- The template (with its `{{ name }}` placeholders filled from its variables) is the system prompt:
  for chat it goes first, merged into the caller's own leading system message (some chat templates
  accept only one system message); for a text completion it is put before the prompt.
- Per variant: requests sent to the model, errors (model-server failures and faults), latency until
  the answer (or stream) ends, and output tokens where the model server reports usage. Latency
  percentiles are over the most recent `LATENCY_WINDOW` requests, so memory stays bounded.
"""

from __future__ import annotations

import hashlib
from collections import deque
from typing import Any, Final

# the syntax `llmops validate` checks (rule X003)
from compiler.check.experiments import PLACEHOLDER
from llmops.proxy.config import Experiment, Template

LATENCY_WINDOW: Final = 2048


def bucket(experiment_id: str, user_id: str) -> int:
    digest = hashlib.sha256(f"{experiment_id}\x00{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def assign_variant(experiment: Experiment, user_id: str) -> str:
    return "A" if bucket(experiment.id, user_id) < experiment.allocation else "B"


def render_template(template: Template) -> str:
    """Fill placeholders from the template's variables; validation guarantees each is declared."""
    return PLACEHOLDER.sub(
        lambda m: template.variables.get(m.group(1), m.group(0)), template.template
    ).strip()


def apply_template(kind: str, body: dict[str, Any], text: str) -> None:
    if kind == "chat":
        messages = body.get("messages")
        if not isinstance(messages, list):
            return
        first = messages[0] if messages else None
        if (
            isinstance(first, dict)
            and first.get("role") == "system"
            and isinstance(first.get("content"), str)
        ):
            body["messages"] = [
                {**first, "content": f"{text}\n\n{first['content']}"},
                *messages[1:],
            ]
        else:
            body["messages"] = [{"role": "system", "content": text}, *messages]
    elif kind == "completion" and isinstance(body.get("prompt"), str):
        body["prompt"] = f"{text}\n\n{body['prompt']}"


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class VariantStats:
    __slots__ = ("errors", "latencies", "latency_sum", "output_tokens", "requests", "template_id")

    def __init__(self, template_id: str):
        self.template_id = template_id
        self.requests = 0
        self.errors = 0
        self.latency_sum = 0.0
        self.output_tokens = 0
        self.latencies: deque[float] = deque(maxlen=LATENCY_WINDOW)

    def record(self, seconds: float, failed: bool, output_tokens: int | None) -> None:
        self.requests += 1
        self.errors += failed
        self.latency_sum += seconds
        self.latencies.append(seconds)
        if output_tokens:
            self.output_tokens += output_tokens

    def snapshot(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        latency = (
            None
            if not ordered
            else {
                "mean": round(1000 * self.latency_sum / self.requests, 3),
                "p50": round(1000 * _percentile(ordered, 0.50), 3),
                "p95": round(1000 * _percentile(ordered, 0.95), 3),
            }
        )
        return {
            "templateId": self.template_id,
            "requests": self.requests,
            "errors": self.errors,
            "errorRate": round(self.errors / self.requests, 4) if self.requests else None,
            "latencyMs": latency,
            "outputTokens": self.output_tokens,
        }


class ExperimentRun:
    """One experiment's configuration, rendered templates and running statistics."""

    def __init__(self, experiment: Experiment, templates: dict[str, Template]):
        self.experiment = experiment
        self.texts = {
            "A": render_template(templates[experiment.template_a_id]),
            "B": render_template(templates[experiment.template_b_id]),
        }
        self.stats = {
            "A": VariantStats(experiment.template_a_id),
            "B": VariantStats(experiment.template_b_id),
        }

    def snapshot(self) -> dict[str, Any]:
        e = self.experiment
        return {
            "id": e.id,
            "endpoint": e.endpoint,
            "templateAId": e.template_a_id,
            "templateBId": e.template_b_id,
            "allocation": e.allocation,
            "metric": e.metric,
            "status": e.status,
            "winnerTemplateId": e.winner_template_id,
            "notes": e.notes,
            "variants": {name: stats.snapshot() for name, stats in self.stats.items()},
        }
