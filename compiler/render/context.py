"""What every backend needs to know about the environment it renders, and the common metadata."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compiler.records import record
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest

MANAGED_BY = {"app.kubernetes.io/managed-by": "llmops"}
ENVIRONMENT_LABEL = "llmops.io/environment"
SOURCE_ANNOTATION = "llmops.io/source"
SYNC_WAVE = "argocd.argoproj.io/sync-wave"

# Argo CD applies lower waves first and waits for them to be healthy: namespace and configuration,
# then the proxy, the models, their public Ingress, and training last (a run that takes an hour, or
# fails, must not hold back a serving change in the same sync).
WAVES = {
    "Namespace": "-2",
    "ConfigMap": "-1",
    "Secret": "-1",
    "Service": "0",
    "Deployment": "0",
    "InferenceService": "1",
    "LLMInferenceService": "1",
    "Ingress": "2",
    "Job": "3",
    "TrainJob": "3",
}
# Keys Argo CD writes itself; rendering them would fight its resource tracking.
FORBIDDEN_KEYS = frozenset(
    {
        "argocd.argoproj.io/tracking-id",
        "argocd.argoproj.io/installation-id",
        "app.kubernetes.io/instance",
    }
)


# What a manifest gives the metadata of the objects rendered from it: its own labels, its own
# annotations and its file, as plain values (a render remembered by its inputs,
# compiler/render/remembered.py, is made from nothing else).
SourceFacts = tuple[dict[str, str], dict[str, str], str]


def source_facts(source: Manifest) -> SourceFacts:
    """Made once per manifest (read only: `labels_for` and `annotations_for` copy them)."""
    return source.derived(_source_facts)


def _source_facts(source: Manifest) -> SourceFacts:
    metadata = source.model.metadata
    return dict(metadata.labels), dict(metadata.annotations), source.file


def labels_for(
    environment: str, source: SourceFacts | None, extra: Mapping[str, str]
) -> dict[str, str]:
    """User labels first, then ours (ours win): managed-by, environment, and what the object is
    for."""
    user = dict(source[0]) if source is not None else {}
    labels = {**user, **MANAGED_BY, ENVIRONMENT_LABEL: environment}
    labels.update({f"llmops.io/{key.replace('_', '-')}": value for key, value in extra.items()})
    return {key: value for key, value in labels.items() if key not in FORBIDDEN_KEYS}


def annotations_for(
    kind: str, source: SourceFacts | None, extra: Mapping[str, str]
) -> dict[str, str]:
    user = dict(source[1]) if source is not None else {}
    annotations = {**user, **extra, SYNC_WAVE: WAVES[kind]}
    if source is not None:
        annotations[SOURCE_ANNOTATION] = source[2]
    return {key: value for key, value in annotations.items() if key not in FORBIDDEN_KEYS}


def metadata_for(
    kind: str,
    name: str,
    *,
    namespace: str,
    environment: str,
    source: SourceFacts | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace,
        "labels": labels_for(environment, source, labels or {}),
        "annotations": annotations_for(kind, source, annotations or {}),
    }


@record(eq=False, repr=False)
class RenderContext:
    """What the renderers of one environment share: its names, labels and settings."""

    env: ResolvedEnvironment

    @property
    def name(self) -> str:
        return self.env.name

    @property
    def namespace(self) -> str:
        return self.env.namespace

    def labels(self, source: Manifest | None = None, **extra: str) -> dict[str, str]:
        """`labels_for` this environment and ``source``."""
        return labels_for(self.name, source_facts(source) if source is not None else None, extra)

    def annotations(
        self, kind: str, source: Manifest | None = None, **extra: str
    ) -> dict[str, str]:
        return annotations_for(kind, source_facts(source) if source is not None else None, extra)

    def metadata(
        self,
        kind: str,
        name: str,
        source: Manifest | None = None,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        return metadata_for(
            kind,
            name,
            namespace=self.namespace,
            environment=self.name,
            source=source_facts(source) if source is not None else None,
            labels=labels,
            annotations=annotations,
        )


def env_variable(name: str, value: str) -> dict[str, str]:
    """A container's environment variable holding ``value`` as it is: Kubernetes expands `$(NAME)`
    and `$$` in env values, and reads `$$` as `$`, so every `$` is written doubled (a
    hyperparameter `$(HOME)` in the TrainJob's job.json stays that text for the trainer)."""
    return {"name": name, "value": value.replace("$", "$$")}
