"""Prompt templates and A/B experiments (code family X)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from compiler.check.rule import Finding, RelatedPlace, rule
from compiler.diagnostics import Category, Severity
from compiler.load.estate import MAX_MANIFEST_BYTES
from compiler.load.text import decode_utf8
from compiler.load.tree import FileProblem
from compiler.positions import Span
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.spec.prompt import PromptTemplateSpec

E, W = Severity.ERROR, Severity.WARNING
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


@rule(
    "X001",
    "experiment-same-template",
    E,
    "An experiment compares a template with itself.",
    category=Category.EXPERIMENT,
)
def experiment_same_template(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        A PromptExperiment's `templateAId` and `templateBId` name two different templates.
    Why it matters:
        An A/B experiment compares two prompts; with A equal to B it measures noise, yet its results
        would be read as a comparison and a "winner" concluded from them. It is usually a copy-paste
        slip.
    Wrong: variant B is variant A
        # file: environments/dev/prompts/support-tone.yaml
        spec:
          templateAId: support-concise
          templateBId: support-concise
    Right: two different templates
        # file: environments/dev/prompts/support-tone.yaml
        spec:
          templateAId: support-concise
          templateBId: support-friendly
    """
    for experiment in env.of_kind("PromptExperiment"):
        if experiment.spec.template_a_id == experiment.spec.template_b_id:
            yield Finding(
                experiment,
                ("spec", "templateBId"),
                f'templateBId is the same as templateAId ("{experiment.spec.template_a_id}")',
                "name a different template for variant B",
            )


@rule(
    "X002",
    "winner-not-in-experiment",
    E,
    "winnerTemplateId is neither template A nor template B.",
    category=Category.EXPERIMENT,
)
def winner_not_in_experiment(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        A concluded experiment's `winnerTemplateId` (set by the original platform's conclude body)
        is its `templateAId` or its `templateBId`.
    Why it matters:
        The winner is what the proxy serves from then on and what the record says was learned; a
        winner that was never tested (often a misspelling) would put an untested prompt in front of
        users, or point at nothing.
    Wrong: the winner is misspelt
        # file: environments/dev/prompts/support-tone.yaml
          templateAId: support-concise
          templateBId: support-friendly
          allocation: 50
          metric: user_feedback
          winnerTemplateId: support-friendy
    Right: the winner is variant B
        # file: environments/dev/prompts/support-tone.yaml
          templateAId: support-concise
          templateBId: support-friendly
          allocation: 50
          metric: user_feedback
          winnerTemplateId: support-friendly
    """
    for experiment in env.of_kind("PromptExperiment"):
        spec = experiment.spec
        if spec.winner_template_id is not None and spec.winner_template_id not in (
            spec.template_a_id,
            spec.template_b_id,
        ):
            yield Finding(
                experiment,
                ("spec", "winnerTemplateId"),
                f'winner "{spec.winner_template_id}" is not one of the experiment\'s templates',
                f'choose "{spec.template_a_id}" or "{spec.template_b_id}"',
            )


def _placeholder_span(
    env: ResolvedEnvironment, template: Manifest[PromptTemplateSpec], name: str
) -> Span | None:
    """Where `{{ name }}` is first written inside `spec.template`, so a long prompt points at its
    line."""
    value = template.document.values.get(("spec", "template"))
    if value is None:
        return None
    key = ("placeholder-spans", template.file, value.line, value.column)
    return env.remember(key, lambda: _placeholder_spans(env, template.file, value)).get(name)


def _placeholder_spans(env: ResolvedEnvironment, file: str, value: Span) -> dict[str, Span]:
    """Where each `{{ name }}` is first written in the template's text, found in one pass (once per
    template, for every environment: a search per name from the template's start took minutes
    for 20,000 names). A placeholder the raw text does not show (escapes, a line break inside the
    braces) has none."""

    def read_lines() -> list[str]:
        try:
            text = decode_utf8(env.tree.read_bytes(file, MAX_MANIFEST_BYTES))
        except FileProblem:
            return []
        return [line.rstrip("\r") for line in text.split("\n")]

    lines = env.remember(("source-lines", file), read_lines)
    spans: dict[str, Span] = {}
    last = value.end_line or value.line
    for number in range(value.line, min(last, len(lines)) + 1):
        line = lines[number - 1]
        if number == last and value.end_column is not None:
            line = line[: value.end_column - 1]
        start = value.column - 1 if number == value.line else 0
        for found in PLACEHOLDER.finditer(line, start):
            spans.setdefault(
                found.group(1), Span(file, number, found.start() + 1, number, found.end() + 1)
            )
    return spans


@rule(
    "X003",
    "template-placeholder-undeclared",
    E,
    "A template uses a `{{ placeholder }}` it does not declare.",
    category=Category.EXPERIMENT,
)
def template_placeholder_undeclared(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Every `{{ name }}` placeholder in a PromptTemplate's `template` is declared under
        `variables` with its default. The diagnostic points at the line of the template where the
        placeholder is first used.
    Why it matters:
        The proxy fills placeholders from the request or the declared defaults; an undeclared one
        would reach the model verbatim, braces and all, as part of the system prompt.
    Wrong: `{{ product }}` is used but not declared
        # file: environments/dev/prompts/support-concise.yaml
          template: |
            You are a helpful customer-support assistant for {{ company }}.
            You answer questions about {{ product }} only.
            Answer in at most three sentences.
          variables:
            company: Example Corp
    Right: every placeholder declared with a default
        # file: environments/dev/prompts/support-concise.yaml
          variables:
            company: Example Corp
            product: Example Cloud
    """
    for template in env.of_kind("PromptTemplate"):
        declared = template.spec.variables
        for name in sorted(set(PLACEHOLDER.findall(template.spec.template)) - set(declared)):
            yield Finding(
                template,
                ("spec", "template"),
                f"placeholder {{{{ {name} }}}} is not declared in variables",
                f"add `{name}: <default>` under variables",
                span=_placeholder_span(env, template, name),
            )


@rule(
    "X004",
    "experiment-without-endpoint",
    W,
    "A running experiment is attached to no endpoint.",
    category=Category.EXPERIMENT,
)
def experiment_without_endpoint(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        A running experiment (one without `winnerTemplateId`) names the endpoint it runs on. The
        original platform's experiment body has no such field, so a pasted body lacks it.
    Why it matters:
        The proxy applies experiments per endpoint; one without an endpoint is never applied, so it
        looks like it is running while it collects no data. A warning, since nothing breaks.
    Wrong: a running experiment without `endpoint`
        # file: environments/dev/prompts/support-tone.yaml
        spec:
          templateAId: support-concise
          templateBId: support-friendly
          allocation: 50
          metric: latency_ms
    Right: it names the endpoint it runs on
        # file: environments/dev/prompts/support-tone.yaml
        spec:
          templateAId: support-concise
          templateBId: support-friendly
          allocation: 50
          metric: latency_ms
          endpoint: example-model
    """
    for experiment in env.of_kind("PromptExperiment"):
        if experiment.spec.is_running and experiment.spec.endpoint is None:
            endpoints = sorted(endpoint.name for endpoint in env.of_kind("ServingEndpoint"))
            hint = "add endpoint: <ServingEndpoint name> under spec"
            if endpoints:
                hint += f"; endpoints here: {', '.join(endpoints[:5])}" + (
                    " …" if len(endpoints) > 5 else ""
                )
            yield Finding(
                experiment,
                ("spec",),
                "this experiment names no endpoint, so it never runs",
                hint,
                key=True,
            )


@rule(
    "X005",
    "concurrent-experiments",
    E,
    "Two running experiments on one endpoint.",
    category=Category.EXPERIMENT,
)
def concurrent_experiments(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        At most one running experiment (without `winnerTemplateId`) per endpoint. The note points at
        the other one.
    Why it matters:
        Two experiments on one endpoint split the same traffic between four prompts in ways neither
        experiment accounts for: each one's measurements are mixed with the other's variants, so
        neither result means what it says.
    Wrong: a second experiment while the first still runs
        # file: environments/dev/prompts/support-tone.yaml
        # The first experiment on example-model, still running.
        ...
          endpoint: example-model
        # file: environments/dev/prompts/support-formality.yaml
          name: support-formality
        ...
          endpoint: example-model
    Right: the first one concluded, then the second runs
        # file: environments/dev/prompts/support-tone.yaml
          endpoint: example-model
          winnerTemplateId: support-friendly
          notes: The friendly prompt was as fast and rated higher.
    """
    running: dict[str, Manifest] = {}
    for experiment in env.of_kind("PromptExperiment"):
        endpoint = experiment.spec.endpoint
        if endpoint is None or not experiment.spec.is_running:
            continue
        if endpoint in running:
            yield Finding(
                experiment,
                ("spec", "endpoint"),
                f"{running[endpoint].subject} is also running on endpoint `{endpoint}`",
                "conclude one of the two (set winnerTemplateId) or move it to another endpoint",
                related=(
                    RelatedPlace(running[endpoint], ("spec", "endpoint"), "the other experiment"),
                ),
            )
        else:
            running[endpoint] = experiment


CHECKS = (
    experiment_same_template,
    winner_not_in_experiment,
    template_placeholder_undeclared,
    experiment_without_endpoint,
    concurrent_experiments,
)
