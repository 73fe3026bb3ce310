"""What `llmops status` reports: one verdict per endpoint, training job and Argo CD Application.

Plain dataclasses with a `to_json` each; the JSON shape is the documented `-o json` schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from compiler.records import record

# kind -> the resource name in the API path
# (`/apis/<group>/<version>/namespaces/<ns>/<plural>/<name>`)
PLURALS = {
    "InferenceService": "inferenceservices",
    "LLMInferenceService": "llminferenceservices",
    "Job": "jobs",
    "TrainJob": "trainjobs",
    "Application": "applications",
}
JSON_SCHEMA_VERSION = 1


class Verdict(StrEnum):
    HEALTHY = "Healthy"
    PROGRESSING = "Progressing"
    DEGRADED = "Degraded"
    MISSING = "Missing"

    @property
    def failing(self) -> bool:
        """Degraded and Missing make `llmops status` exit 1; Progressing is expected to settle."""
        return self in (Verdict.DEGRADED, Verdict.MISSING)


@record
class ObjectRef:
    """One object the current revision renders, and where the API server keeps it."""

    api_version: str
    kind: str
    namespace: str
    name: str

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @property
    def plural(self) -> str:
        return PLURALS[self.kind]

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"

    def to_json(self) -> dict[str, str]:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
        }


@record
class Lookup:
    """What reading one object gives: the live object, or why there is none (not found, or the
    cluster does not serve its kind)."""

    live: dict[str, Any] | None
    missing: str = ""


@record
class Condition:
    """A status condition as the controllers write it (Knative's for KServe, metav1's for Jobs)."""

    type: str
    status: str
    reason: str | None = None
    message: str | None = None
    last_transition_time: str | None = None
    severity: str | None = None

    @classmethod
    def from_live(cls, raw: dict[str, Any]) -> Condition:
        def text(key: str) -> str | None:
            value = raw.get(key)
            return str(value) if value not in (None, "") else None

        return cls(
            type=str(raw.get("type", "")),
            status=str(raw.get("status", "Unknown")),
            reason=text("reason"),
            message=text("message"),
            last_transition_time=text("lastTransitionTime"),
            severity=text("severity"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
            "lastTransitionTime": self.last_transition_time,
            "severity": self.severity,
        }


@record
class Difference:
    """One field the current revision renders that the live object lacks or holds with another
    value."""

    path: str
    rendered: Any
    live: Any
    in_live: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "rendered": self.rendered,
            "live": self.live,
            "inLive": self.in_live,
        }


ENDPOINT_CONDITIONS = ("Ready", "PredictorReady", "Stopped")


@dataclass
class EndpointStatus:
    name: str
    object: ObjectRef
    verdict: Verdict
    reason: str
    found: bool = True
    conditions: dict[str, Condition | None] = field(
        default_factory=lambda: dict.fromkeys(ENDPOINT_CONDITIONS)
    )
    stopped: bool = False
    generation: int | None = None
    observed_generation: int | None = None
    url: str | None = None
    drift: list[Difference] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "object": self.object.to_json(),
            "verdict": str(self.verdict),
            "reason": self.reason,
            "found": self.found,
            "conditions": {
                name: (c.to_json() if c else None) for name, c in self.conditions.items()
            },
            "stopped": self.stopped,
            "generation": self.generation,
            "observedGeneration": self.observed_generation,
            "url": self.url,
            "drift": [d.to_json() for d in self.drift],
        }


@dataclass
class TrainingJobStatus:
    name: str
    object: ObjectRef
    verdict: Verdict
    reason: str
    state: str  # Pending, Running, Suspended, Succeeded, Failed, Missing
    found: bool = True
    active: int = 0
    succeeded: int = 0
    failed: int = 0
    conditions: list[Condition] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "object": self.object.to_json(),
            "verdict": str(self.verdict),
            "reason": self.reason,
            "found": self.found,
            "state": self.state,
            "active": self.active,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "conditions": [c.to_json() for c in self.conditions],
        }


@dataclass
class ApplicationStatus:
    object: ObjectRef
    verdict: Verdict
    reason: str
    found: bool = True
    sync: str | None = None
    health: str | None = None
    revision: str | None = None
    operation: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "object": self.object.to_json(),
            "verdict": str(self.verdict),
            "reason": self.reason,
            "found": self.found,
            "sync": self.sync,
            "health": self.health,
            "revision": self.revision,
            "operation": self.operation,
        }


@dataclass
class EnvironmentStatus:
    name: str
    namespace: str
    application: ApplicationStatus | None
    endpoints: list[EndpointStatus] = field(default_factory=list)
    training_jobs: list[TrainingJobStatus] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "application": self.application.to_json() if self.application else None,
            "endpoints": [e.to_json() for e in self.endpoints],
            "trainingJobs": [j.to_json() for j in self.training_jobs],
        }


@dataclass
class StatusReport:
    environments: list[EnvironmentStatus] = field(default_factory=list)

    def verdicts(self) -> list[Verdict]:
        found: list[Verdict] = []
        for env in self.environments:
            if env.application is not None:
                found.append(env.application.verdict)
            found.extend(e.verdict for e in env.endpoints)
            found.extend(j.verdict for j in env.training_jobs)
        return found

    @property
    def failing(self) -> bool:
        return any(verdict.failing for verdict in self.verdicts())

    def counts(self) -> dict[str, int]:
        every = self.verdicts()
        return {str(verdict): every.count(verdict) for verdict in Verdict}

    def to_json(self) -> dict[str, Any]:
        return {
            "version": JSON_SCHEMA_VERSION,
            "environments": [env.to_json() for env in self.environments],
            "summary": {"verdicts": self.counts(), "failing": self.failing},
        }
