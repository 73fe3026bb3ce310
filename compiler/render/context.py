"""What every backend needs to know about the environment it renders, and the common metadata."""

from __future__ import annotations

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
        """User labels first, then ours (ours win): managed-by, environment, and what the object is
        for."""
        user = dict(source.model.metadata.labels) if source is not None else {}
        labels = {**user, **MANAGED_BY, ENVIRONMENT_LABEL: self.name}
        labels.update({f"llmops.io/{key.replace('_', '-')}": value for key, value in extra.items()})
        return {key: value for key, value in labels.items() if key not in FORBIDDEN_KEYS}

    def annotations(
        self, kind: str, source: Manifest | None = None, **extra: str
    ) -> dict[str, str]:
        user = dict(source.model.metadata.annotations) if source is not None else {}
        annotations = {**user, **extra, SYNC_WAVE: WAVES[kind]}
        if source is not None:
            annotations[SOURCE_ANNOTATION] = source.file
        return {key: value for key, value in annotations.items() if key not in FORBIDDEN_KEYS}

    def metadata(
        self,
        kind: str,
        name: str,
        source: Manifest | None = None,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        return {
            "name": name,
            "namespace": self.namespace,
            "labels": self.labels(source, **(labels or {})),
            "annotations": self.annotations(kind, source, **(annotations or {})),
        }
