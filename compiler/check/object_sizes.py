"""Sizes Kubernetes refuses (code family K): annotations and ConfigMaps that would fail to apply.

The renderer copies user text into annotations and into the ConfigMaps the proxy and the trainers
read; the API server refuses an object with more than 256 KiB of annotations or a ConfigMap with
more than 1 MiB of data. Checked here, the mistake points at the manifest to shorten instead of
failing the sync.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from compiler.check.rule import Finding, rule
from compiler.diagnostics import Category, Severity
from compiler.errors import UnrepresentableValue
from compiler.render.context import RenderContext
from compiler.render.json_text import indented_json
from compiler.render.proxy_config import (
    Entry,
    ServedEndpoint,
    environment_proxy_entry_texts,
    environment_proxy_text,
    proxy_entries,
)
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.spec.training import TrainingJobSpec
from compiler.target.training_contract import JOB_FILE

E = Severity.ERROR

# Kubernetes refuses an object whose annotations (keys and values, in bytes) exceed 256 KiB. llmops
# adds its own to each object (the source file, sync wave, content digest, KServe mode...), which
# stay under this.
MAX_ANNOTATION_BYTES = 256 * 1024
LLMOPS_ANNOTATION_RESERVE = 8 * 1024


@rule(
    "K008",
    "annotations-too-large",
    E,
    "A manifest's annotations exceed what Kubernetes accepts on an object.",
    category=Category.NAMING,
)
def annotations_too_large(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        A manifest's annotations (keys and values, in UTF-8 bytes) fit in what Kubernetes accepts on
        one object: 256 KiB, of which llmops keeps 8 KiB for its own annotations.
    Why it matters:
        Annotations are copied onto every object rendered from the manifest, and the API server
        refuses an object whose annotations are larger: the whole endpoint or job would fail to
        sync. Large text (a model card, a changelog) belongs behind a link.
    Wrong: a whole model card pasted into an annotation
        # file: environments/dev/catalog/support-model.yaml
        metadata:
          name: support-model
          annotations:
            example.com/model-card: |
              line 0: xxxxxxxxxx...
              line 1: xxxxxxxxxx...
        ...
    Right: the annotation links to the model card
        # file: environments/dev/catalog/support-model.yaml
          annotations:
            example.com/model-card: https://docs.example.com/models/support-model
    """
    limit = MAX_ANNOTATION_BYTES - LLMOPS_ANNOTATION_RESERVE
    for manifest in env.manifests:
        size = manifest.derived(_annotation_bytes)
        if size > limit:
            yield Finding(
                manifest,
                ("metadata", "annotations"),
                f"the annotations hold {size:,} bytes; at most {limit:,} fit (Kubernetes allows "
                f"{MAX_ANNOTATION_BYTES:,} per object, and llmops adds up to "
                f"{LLMOPS_ANNOTATION_RESERVE:,} of its own)",
                "keep large text out of annotations",
            )


def _utf8_size(text: str) -> int:
    """The bytes ``text`` takes as written. A folder name that is not UTF-8 (an environment's, in
    the proxy's configuration) reaches it as Python keeps such names, its bytes escaped as lone
    surrogates: counted as those bytes (K005 reports the name), not refused as unwritable text."""
    return len(text.encode("utf-8", "surrogateescape"))


def _annotation_bytes(manifest: Manifest) -> int:
    annotations = manifest.model.metadata.annotations
    return sum(_utf8_size(key) + _utf8_size(value) for key, value in annotations.items())


# Kubernetes refuses a ConfigMap whose data exceeds 1 MiB (MaxSecretSize applies to ConfigMaps as
# well).
MAX_CONFIGMAP_BYTES = 1024 * 1024


def _json_size(value: Any, indent: int | None = None) -> int:
    return _utf8_size(json.dumps(value, indent=indent, ensure_ascii=False))


def _indented_json_size(value: Any) -> int:
    """`_json_size(value, indent=2)`, written by the renderer's faster writer of the same text (the
    standard library indents in Python: two calls per training job and environment); NaN and
    infinity, which that writer refuses, as `json.dumps` writes them."""
    try:
        return _utf8_size(indented_json(value))
    except UnrepresentableValue:
        return _json_size(value, indent=2)


def _training_config_size(
    job: Manifest[TrainingJobSpec], copies: int
) -> tuple[int, tuple[str, ...]]:
    """At least the bytes of a training job's configuration: its hyperparameters, indented as the
    renderer writes them, ``copies`` times."""
    once, nested = job.derived(_hyperparameter_sizes)
    return (once + nested if copies == 2 else once), (
        "spec",
        "trainJobSpec",
        "hyperparameters",
    )


# More than job.json holds besides its hyperparameters: names, three URIs of at most 2,048
# characters (4 bytes each in UTF-8 at most), a few words, and their keys and indentation
_REST_OF_CONFIG_BOUND = 64 * 1024


def _rendered_config_size(
    env: ResolvedEnvironment, job: Manifest[TrainingJobSpec], in_configmap: bool
) -> int | None:
    """The bytes of the job's configuration as the render writes it: its ConfigMap's two files,
    or the TrainJob's job.json; None when its model or dataset does not resolve (R001, R002)."""
    from compiler.render.trainer_config import trainer_config

    model = env.resolve_model(job.spec.model_id).manifest
    dataset = env.resolve_dataset(job.spec.dataset_id).manifest
    if model is None or dataset is None:
        return None
    files = trainer_config(env, job, model, dataset).files()
    written = files.values() if in_configmap else [files[JOB_FILE]]
    return sum(_utf8_size(text) for text in written)


def _hyperparameter_sizes(job: Manifest[TrainingJobSpec]) -> tuple[int, int]:
    """The bytes of a job's hyperparameters indented as written alone, and as nested in job.json
    (two more spaces on each of their lines)."""
    inner = job.spec.train_job_spec
    hyperparameters = dict(inner.hyperparameters) if inner is not None else {}
    once = _indented_json_size(hyperparameters)
    return once, _indented_json_size({"hyperparameters": hyperparameters})


def _proxy_config_sizes(env: ResolvedEnvironment) -> tuple[int, Entry | None, int]:
    """The bytes of the proxy's ConfigMap (its `proxy.json`, as render writes it), and, when that is
    over the limit, the entry that adds most to it with the bytes it adds (None when no manifest
    adds any)."""
    endpoints: list[ServedEndpoint] = []
    for endpoint in env.of_kind("ServingEndpoint"):
        model = env.resolve_model(endpoint.spec.model_id).manifest
        if model is not None:  # R001 reports the others; render needs them resolved
            endpoints.append((endpoint, model))
    ctx = RenderContext(env)
    entries = proxy_entries(ctx, endpoints)
    total = _utf8_size(environment_proxy_text(ctx, endpoints))
    if total <= MAX_CONFIGMAP_BYTES:
        return total, None, 0
    texts = environment_proxy_entry_texts(ctx, endpoints)
    weights = [
        (_utf8_size(text), item)
        for section, items in entries.items()
        for item, text in zip(items, texts.get(section, ()), strict=True)
    ]
    if not weights:
        return total, None, 0
    size, heaviest = max(weights, key=lambda weight: weight[0])
    return total, heaviest, size


def _heaviest_field(manifest: Manifest, entry: dict[str, Any]) -> tuple[str, ...]:
    """The manifest's field behind the entry's largest value (`spec.template`, a model's
    `spec.metadata`), or its spec when that value is not a field written there."""
    key = max(entry, key=lambda name: _json_size(entry[name]))
    return ("spec", key) if manifest.document.get(("spec", key)) is not None else ("spec",)


@rule(
    "K009",
    "configmap-too-large",
    E,
    "A rendered ConfigMap would hold more than Kubernetes accepts (1 MiB).",
    category=Category.NAMING,
)
def configmap_too_large(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        The ConfigMaps llmops renders stay within Kubernetes' 1 MiB of data: the proxy's, measured
        as render writes it (its proxy.json carries every endpoint, prompt template, experiment,
        model, dataset and training job of the environment, the catalog entries with their spec as
        written), pointing at the manifest and field that add most; and each training job's, which
        carries its hyperparameters twice (job.json and hyperparameters.json; counted with their
        indentation, the rest of job.json being a few URIs and names). A TrainJob carries them
        once, in an environment variable, within the same limit.
    Why it matters:
        Each template file may be well under the 1 MiB manifest limit while all of them together are
        not; the API server would refuse the ConfigMap at sync time, and the proxy (every endpoint
        of the environment) would keep its old configuration.
    Wrong: two handbooks of 600 KB pasted into system prompts
        # file: environments/dev/prompts/support-handbook.yaml
        spec:
          # Wrong: a whole handbook pasted into a system prompt; the proxy ConfigMap holds all...
          template: |
            0: xxxxxxxxxx...
        # file: environments/dev/prompts/sales-handbook.yaml
          name: sales-handbook
        spec:
          # Wrong: a whole handbook pasted into a system prompt; the proxy ConfigMap holds all...
          template: |
            0: yyyyyyyyyy...
        ...
    Right: the prompt says what to do; the handbook stays in the knowledge base
        # file: environments/dev/prompts/support-handbook.yaml
          template: |
            You are a customer-support assistant. Answer from the knowledge base; cite the...
    """
    in_configmap = env.settings.training.backend == "job"
    for job in env.of_kind("TrainingJob"):
        size, path = _training_config_size(job, 2 if in_configmap else 1)
        exact = None
        if size > MAX_CONFIGMAP_BYTES - _REST_OF_CONFIG_BOUND:  # near the limit: count it all
            exact = _rendered_config_size(env, job, in_configmap)
        size = size if exact is None else exact
        if size > MAX_CONFIGMAP_BYTES:
            where = (
                "the job's ConfigMap (job.json and hyperparameters.json)"
                if in_configmap
                else "the TrainJob"
            )
            yield Finding(
                job,
                path,
                f"the configuration would hold {'' if exact else 'at least '}{size:,} bytes in "
                f"{where}; "
                f"Kubernetes refuses more than {MAX_CONFIGMAP_BYTES:,}",
                "keep large data out of hyperparameters: put it in storage and pass its URI",
            )
    total, heaviest, size = _proxy_config_sizes(env)
    if heaviest is not None:
        manifest, entry = heaviest
        yield Finding(
            manifest,
            _heaviest_field(manifest, entry),
            f"the proxy's ConfigMap in `{env.name}` would hold {total:,} bytes (proxy.json: "
            "every endpoint, template, experiment, model, dataset and training job of the "
            f"environment; about {size:,} from here); Kubernetes refuses more than "
            f"{MAX_CONFIGMAP_BYTES:,}",
            "shorten the largest texts (templates, descriptions, hyperparameters), or split the "
            "environment",
        )


CHECKS = (annotations_too_large, configmap_too_large)
