"""The facts capacity needs, each with where it came from: a manifest field, a preset, or a runtime
default.

Precedence, per fact: what the Model writes, then its `preset`'s row. A Model that names no preset
but whose `model_family` and `parameters` match exactly one preset (llama and 7B: `llama-2-7b`) gets
that one, as an assumption: every fact it supplies says so, and a verdict resting on one is a
warning that names the preset and how to pin it. Nothing else is guessed: a fact none of these gives
is missing, and the checks say so. The byte sizes of weights and KV cache follow the model's
`quantization` and `dtype`; without a dtype they are what KServe's Hugging Face server picks for
`--dtype auto`, float16 on GPUs and float32 on CPUs (`huggingfaceserver/__main__.py`), because
llmops renders `--dtype` only when the Model names one.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Generic, TypeVar

from compiler.capacity.gpus import product_memory_gib
from compiler.capacity.presets import PRESETS, ModelPreset, presets_matching
from compiler.diagnostics import Assumption
from compiler.positions import Path
from compiler.records import record
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.spec.model import ModelSpec, parameter_count

T = TypeVar("T")

METADATA = ("spec", "metadata")
# Bytes per weight, by dtype and by quantization (awq and gptq are 4-bit formats).
DTYPE_BYTES = {
    "float32": 4.0,
    "fp32": 4.0,
    "bfloat16": 2.0,
    "bf16": 2.0,
    "float16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "int4": 0.5,
}
QUANTIZATION_BYTES = {"fp8": 1.0, "int8": 1.0, "int4": 0.5, "awq": 0.5, "gptq": 0.5}
# What `--dtype auto` loads in KServe's Hugging Face server: float16 on GPUs, float32 on CPUs.
RUNTIME_DEFAULT_BYTES = {True: 2, False: 4}
LARGE_MODEL_PARAMETERS = 7 * 10**9


@record(eq=False, repr=False, slots=True)
class Origin:
    """Where a fact came from. With a manifest, ``path`` is the field that says it (or names the
    preset)."""

    note: str = ""
    manifest: Manifest | None = None
    path: Path = ()
    reference: str = ""  # the public source of a table value (a preset's config.json)
    assumption: Assumption | None = None  # set when the value rests on something llmops assumed


@record(eq=False, repr=False, slots=True)
class Fact(Generic[T]):
    """A value a capacity verdict rests on, with where it came from."""

    value: T
    origin: Origin


@record(eq=False, repr=False)
class ModelFacts:
    """What a Model says (or its preset knows) of the numbers capacity checks need."""

    model: Manifest[ModelSpec]
    preset: ModelPreset | None
    parameters: Fact[int] | None
    layers: Fact[int] | None
    attention_heads: Fact[int] | None
    kv_heads: Fact[int] | None
    head_dim: Fact[int] | None
    context_length: Fact[int] | None
    preset_assumption: Assumption | None = None  # the preset was inferred, not named
    # presets model_family and parameters match, when not exactly one
    preset_candidates: tuple[str, ...] = ()

    def missing_for_gpu(self) -> list[str]:
        """The Model fields a GPU capacity check lacks, as the manifest spells them."""
        wanted = (
            ("parameters", self.parameters),
            ("num_layers", self.layers),
            ("num_kv_heads", self.kv_heads),
            ("head_dim (or hidden_size)", self.head_dim),
        )
        return [name for name, fact in wanted if fact is None]


def _written(model: Manifest[ModelSpec], field: str, value: int | None) -> Fact[int] | None:
    return None if value is None else Fact(value, Origin("", model, (*METADATA, field)))


def model_facts(model: Manifest[ModelSpec]) -> ModelFacts:
    """The Model's capacity facts: its own fields first, then its preset's row (named, or
    inferred)."""
    meta = model.spec.metadata
    parameters = None if meta.parameters is None else parameter_count(meta.parameters)
    preset = PRESETS.get(meta.preset) if meta.preset else None
    candidates: tuple[str, ...] = ()
    assumption = None
    origin = Origin()
    if preset is not None:
        origin = Origin(f"preset {preset.name}", model, (*METADATA, "preset"), preset.source)
    elif meta.model_family and parameters is not None:
        candidates = tuple(match.name for match in presets_matching(meta.model_family, parameters))
        if len(candidates) == 1:
            preset = PRESETS[candidates[0]]
            assumption = inferred_preset_assumption(preset.name, meta.model_family, parameters)
            origin = Origin(
                f"preset {preset.name}, assumed from model_family and parameters",
                model,
                (*METADATA, "model_family"),
                preset.source,
                assumption,
            )
            candidates = ()

    def pick(field: str, own: int | None, from_preset: int | None) -> Fact[int] | None:
        written = _written(model, field, own)
        if written is not None or preset is None or from_preset is None:
            return written
        return Fact(from_preset, origin)

    attention_heads = pick(
        "num_attention_heads", meta.num_attention_heads, preset.attention_heads if preset else None
    )
    head_dim = pick("head_dim", meta.head_dim, None)
    if (
        head_dim is None
        and meta.hidden_size is not None
        and attention_heads is not None
        and meta.hidden_size % attention_heads.value == 0
    ):
        head_dim = Fact(
            meta.hidden_size // attention_heads.value,
            Origin(
                "hidden_size / attention heads",
                model,
                (*METADATA, "hidden_size"),
                assumption=attention_heads.origin.assumption,
            ),
        )
    if head_dim is None:
        head_dim = pick("head_dim", None, preset.head_dim if preset else None)
    return ModelFacts(
        model=model,
        preset=preset,
        parameters=pick("parameters", parameters, preset.parameters if preset else None),
        layers=pick("num_layers", meta.num_layers, preset.layers if preset else None),
        attention_heads=attention_heads,
        kv_heads=pick("num_kv_heads", meta.num_kv_heads, preset.kv_heads if preset else None),
        head_dim=head_dim,
        context_length=pick(
            "context_length", meta.context_length, preset.context_length if preset else None
        ),
        preset_assumption=assumption,
        preset_candidates=candidates,
    )


def inferred_preset_assumption(preset: str, model_family: str, parameters: int) -> Assumption:
    return Assumption(
        what=(
            f"the model is preset {preset}, the only preset matching model_family {model_family} "
            f"and {short_count(parameters)} parameters"
        ),
        state_it=(
            f"pin it with spec.metadata.preset: {preset}, name another preset, or write the "
            "model's own context_length, num_layers, num_attention_heads, num_kv_heads and "
            "head_dim from its config.json"
        ),
    )


def short_count(parameters: int) -> str:
    """7000000000 -> `7B`, 8030000000 -> `8.03B`, 494000000 -> `494M` (a count too large for a float
    in decimal: `1E+391B`)."""
    unit, scale = ("B", 10**9) if parameters >= 10**9 else ("M", 10**6)
    ratio = parameters / scale if parameters < 10**300 else Decimal(parameters) / scale
    return f"{ratio:g}{unit}"


def assumptions_of(*facts: Fact[Any] | None) -> tuple[Assumption, ...]:
    """The distinct assumptions the given facts rest on, in order."""
    found: list[Assumption] = []
    for fact in facts:
        if (
            fact is not None
            and fact.origin.assumption is not None
            and fact.origin.assumption not in found
        ):
            found.append(fact.origin.assumption)
    return tuple(found)


def cached_model_facts(env: ResolvedEnvironment, model: Manifest[ModelSpec]) -> ModelFacts:
    """`model_facts`, once per manifest: a `_shared` model is served and trained in every
    environment, and the warm server keeps it while the model's file is unchanged."""
    return model.derived(model_facts)


def weight_bytes(model: Manifest[ModelSpec], on_gpu: bool) -> Fact[float]:
    """Bytes per parameter as loaded: the quantization's, else the dtype's, else the runtime
    default."""
    meta = model.spec.metadata
    if meta.quantization in QUANTIZATION_BYTES:
        return Fact(
            QUANTIZATION_BYTES[meta.quantization],
            Origin(f"quantization {meta.quantization}", model, (*METADATA, "quantization")),
        )
    if meta.dtype is not None:
        return Fact(
            DTYPE_BYTES[meta.dtype], Origin(f"dtype {meta.dtype}", model, (*METADATA, "dtype"))
        )
    default = _runtime_default(on_gpu)
    return Fact(float(default.value), default.origin)


def kv_bytes(model: Manifest[ModelSpec], on_gpu: bool) -> Fact[int]:
    """Bytes per KV cache element: the activation dtype (16 or 32 bits; quantized weights keep
    16-bit activations, so an 8- or 4-bit dtype leaves the runtime default)."""
    dtype = model.spec.metadata.dtype
    if dtype is not None and DTYPE_BYTES[dtype] >= 2:
        return Fact(int(DTYPE_BYTES[dtype]), Origin(f"dtype {dtype}", model, (*METADATA, "dtype")))
    return _runtime_default(on_gpu)


def _runtime_default(on_gpu: bool) -> Fact[int]:
    kind = "float16 on GPUs" if on_gpu else "float32 on CPUs"
    return Fact(
        RUNTIME_DEFAULT_BYTES[on_gpu], Origin(f"no dtype: the runtime's --dtype auto loads {kind}")
    )


def gpu_memory_gib(
    env: ResolvedEnvironment,
    workload: Manifest,
    workload_path: Path,
    workload_value: int | float | None,
) -> Fact[float] | None:
    """Memory of one GPU: the environment's (it describes the hardware), else what the workload
    says."""
    gpu = env.settings.gpu
    settings = env.settings_manifest
    if gpu.memory_gib is not None:
        return Fact(
            float(gpu.memory_gib),
            Origin(
                f"environment {env.name}",
                settings,
                ("spec", "gpu", "memoryGiB") if settings else (),
            ),
        )
    if gpu.product is not None:
        return Fact(
            product_memory_gib(gpu.product),
            Origin(
                f"{gpu.product}, as nvidia-smi reports it",
                settings,
                ("spec", "gpu", "product") if settings else (),
            ),
        )
    if workload_value is not None:
        return Fact(float(workload_value), Origin("", workload, workload_path))
    return None


GPU_MEMORY_MISSING = (
    "the GPUs' memory (gpu.memoryGiB or gpu.product in the environment's environment.yaml, "
    "or resources.gpu_memory_gb)"
)
