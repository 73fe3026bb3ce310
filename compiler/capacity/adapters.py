"""The GPU memory LoRA adapters take beside their base model.

vLLM reserves, when started with `--enable-lora`, one slot per `--max-loras` of `--max-lora-rank`
for every adapted projection of every layer, whatever the adapters' real sizes. A slot holds A (r x
in) and B (out x r) for each projection; this estimate takes the seven projections of a Llama-style
block with the attention ones `hidden` wide and the MLP ones 4 x `hidden` (q, k, v, o: 2h each;
gate, up, down: 5h each; 23h in all), an upper bound for the families llmops knows.
"""

from __future__ import annotations

from compiler.capacity.facts import ModelFacts
from compiler.records import record
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.lineage import training_job
from compiler.resolve.manifest import Manifest
from compiler.spec.model import ModelSpec
from compiler.spec.serving import ServingEndpointSpec
from compiler.target.training_contract import HYPERPARAMETERS

MODELS_ROOT = "/mnt/models"  # KServe's storage initializer's root; every mount path is below it
BASE_MODEL_DIR = f"{MODELS_ROOT}/base"
ADAPTERS_DIR = f"{MODELS_ROOT}/adapters"
# The ranks vLLM's --max-lora-rank accepts, and its default.
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
VLLM_DEFAULT_MAX_LORA_RANK = 16


def _trainer_default_rank() -> int:
    """The trainer's `lora_r` when a job does not set it (compiler/target/training_contract.py)."""
    default = next(parameter.default for parameter in HYPERPARAMETERS if parameter.name == "lora_r")
    assert isinstance(default, int)
    return default


DEFAULT_LORA_RANK = _trainer_default_rank()

PROJECTION_WIDTHS = 23  # in + out of the seven projections, in units of the hidden size


@record(eq=False, repr=False)
class ServedAdapter:
    """A LoRA adapter an endpoint serves beside its base model, and its rank when known."""

    model: Manifest[ModelSpec]
    rank: int | None  # the training job's lora_r (its default when not given); None: no job known

    @property
    def served_name(self) -> str:
        """What a request's `model` field names to get this adapter: the Model's name."""
        return self.model.name

    @property
    def path(self) -> str:
        return f"{ADAPTERS_DIR}/{self.model.name}"


def adapter_rank(env: ResolvedEnvironment, adapter: Manifest[ModelSpec]) -> int | None:
    """The LoRA rank the adapter was trained with: its job's `lora_r`, or the trainer's default."""
    if adapter.spec.trained_by is None:
        return None
    _, job = training_job(env, adapter.spec.trained_by)
    if job is None:
        return None
    train = job.spec.train_job_spec
    written = train.hyperparameters.get("lora_r") if train is not None else None
    return (
        written
        if isinstance(written, int) and not isinstance(written, bool)
        else (DEFAULT_LORA_RANK)
    )


def served_adapters(
    env: ResolvedEnvironment, endpoint: Manifest[ServingEndpointSpec]
) -> list[ServedAdapter]:
    """The endpoint's adapters that resolve, in the manifest's order (R001 reports the rest)."""
    found = []
    for reference in endpoint.spec.adapters:
        model = env.resolve_model(reference).manifest
        if model is not None:
            found.append(ServedAdapter(model, adapter_rank(env, model)))
    return found


def max_lora_rank(adapters: list[ServedAdapter]) -> int | None:
    """The smallest rank vLLM accepts that holds every adapter's; None when no rank is known
    (vLLM's default, 16, applies)."""
    ranks = [adapter.rank for adapter in adapters if adapter.rank is not None]
    if not ranks:
        return None
    needed = max(ranks)
    return next((rank for rank in VLLM_LORA_RANKS if rank >= needed), needed)


@record(eq=False, repr=False)
class AdapterMemory:
    """The GPU memory vLLM reserves for LoRA adapters: slots x rank x layers x projections."""

    slots: int  # --max-loras
    rank: int  # --max-lora-rank
    layers: int
    hidden_size: int
    bytes_per_element: float

    @property
    def total_bytes(self) -> float:
        elements = self.slots * self.rank * self.layers * PROJECTION_WIDTHS * self.hidden_size
        return elements * self.bytes_per_element


def adapter_memory(
    env: ResolvedEnvironment,
    endpoint: Manifest[ServingEndpointSpec],
    facts: ModelFacts,
    bytes_per_element: float,
) -> AdapterMemory | None:
    """The slots the endpoint's adapters reserve, or None without adapters or without the layer
    count and width of the base model."""
    if not endpoint.spec.adapters:
        return None
    adapters = served_adapters(env, endpoint)
    if not adapters or facts.layers is None or facts.head_dim is None:
        return None
    if facts.attention_heads is None:
        return None
    rank = max_lora_rank(adapters) or VLLM_DEFAULT_MAX_LORA_RANK
    hidden = facts.attention_heads.value * facts.head_dim.value
    return AdapterMemory(len(adapters), rank, facts.layers.value, hidden, bytes_per_element)
