"""A Model's written size against the preset it names (code family C): the capacity checks take the
parameter count from the Model and the shape (layers, heads) from the preset, so the two must
describe the same model."""

from __future__ import annotations

from collections.abc import Iterator

from compiler.capacity.facts import METADATA, short_count
from compiler.capacity.presets import PRESETS, ModelPreset, nominal_parameters, presets_matching
from compiler.check.rule import Finding, RelatedPlace, rule
from compiler.diagnostics import Category, Severity
from compiler.resolve.environment import ResolvedEnvironment
from compiler.spec.model import parameter_count

W = Severity.WARNING
# How far a written count may be from the nearer of the preset's exact count and the size in its
# name: rounding (6.7B or 7B for Llama 2 7B's 6.74B) is well within it, 7B against an 8B preset
# (13 % from 8.03B) is outside it.
TOLERANCE = 0.10


def _distance(parameters: int, preset: ModelPreset) -> float:
    sizes = [preset.parameters, nominal_parameters(preset) or preset.parameters]
    return min(abs(parameters - size) / size for size in sizes)


@rule(
    "C011",
    "parameters-contradict-preset",
    W,
    "A Model's parameters disagree with the size of the preset it names.",
    category=Category.CAPACITY,
)
def parameters_contradict_preset(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        A Model naming a `preset` and writing `parameters`: the count must be within 10 % of the
        preset's exact count or of the size in its name (6.7B or 7B both agree with llama-2-7b's
        6.74B; 7B against llama-3-8b's 8.03B does not).
    Why it matters:
        `preset` supplies the shape of a public model (layers, heads, context) and `parameters` the
        size of this one: the weights come from one, the KV cache from the other. A 70B count with
        an 8B preset's shape is neither model, and every capacity verdict on it is wrong. Name the
        preset this model is (the hint lists those of its family and size), or correct
        `parameters`.
    Wrong: a 70B count with the shape of Llama 3 8B
        # file: environments/dev/catalog/support-model.yaml
          metadata:
            model_family: llama
            parameters: 70B
            preset: llama-3-8b
    Right: the preset of the model this is
        # file: environments/dev/catalog/support-model.yaml
          metadata:
            model_family: llama
            parameters: 70B
            preset: llama-3-70b
    """
    for model in env.of_kind("Model"):
        meta = model.spec.metadata
        preset = PRESETS.get(meta.preset) if meta.preset else None
        if preset is None or meta.parameters is None:
            continue
        parameters = parameter_count(meta.parameters)
        if _distance(parameters, preset) <= TOLERANCE:
            continue
        fitting = (
            [match.name for match in presets_matching(meta.model_family, parameters)]
            if meta.model_family
            else []
        )
        instead = (
            f"name the preset this model is ({' or '.join(fitting)} for {meta.model_family} and "
            f"{short_count(parameters)}), "
            if fitting
            else "name the preset this model is, "
        )
        yield Finding(
            model,
            (*METADATA, "parameters"),
            f"parameters is {short_count(parameters)} but preset {preset.name} has "
            f"{short_count(preset.parameters)}: the capacity checks would weigh "
            f"{short_count(parameters)} parameters with {preset.name}'s layers and heads",
            f"{instead}or set parameters to {short_count(preset.parameters)}, or drop the preset "
            "and write num_layers, num_kv_heads and head_dim",
            related=(RelatedPlace(model, (*METADATA, "preset"), "the preset"),),
        )


CHECKS = (parameters_contradict_preset,)
