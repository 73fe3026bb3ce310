"""What the console shows about the estate, read once when the proxy starts: every environment's
endpoints, catalog and diagnostics, from the same validation `llmops validate` runs.

Without the manifests (a proxy started from proxy.json), only the proxy's own environment is known,
from its configuration; the pages say what is missing and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from compiler.capacity.canary import canary_endpoint
from compiler.capacity.topology import replica_gpus
from compiler.diagnostics import Diagnostic, Severity
from compiler.load.tree import DirectoryTree
from compiler.pipeline import ValidationResult, validate_repository
from compiler.records import record
from compiler.resolve.approvals import approval_state, approvals_by_model, current_digest
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.lineage_report import format_lineage_text, lineage_report
from compiler.resolve.manifest import Manifest
from compiler.spec.model import ModelSpec
from compiler.spec.serving import ServingEndpointSpec
from llmops.proxy.config import Endpoint, ProxyConfig


@record
class CanaryRow:
    """An endpoint's canary: its model, the percent of users it serves, its own replicas."""

    model_id: str
    weight: int
    min_replicas: int
    max_replicas: int
    gpus: int  # per replica (0 from proxy.json, which does not carry resources)


@record
class EndpointRow:
    """One line of the overview (two with a canary)."""

    name: str
    model_id: str
    route: str
    min_replicas: int
    max_replicas: int
    gpus: int
    place: str  # the file of its manifest ("" from proxy.json)
    canary: CanaryRow | None = None


@record
class DiagnosticRow:
    code: str
    severity: str
    message: str
    place: str
    hint: str | None


@dataclass
class EnvironmentView:
    name: str
    namespace: str
    endpoints: list[EndpointRow] = field(default_factory=list)
    diagnostics: list[DiagnosticRow] = field(default_factory=list)
    resolved: ResolvedEnvironment | None = None  # None: only proxy.json is known

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity == Severity.ERROR.value)


def place(manifest: Manifest) -> str:
    """file:line where the manifest starts (its positions are read on demand: one page's worth)."""
    span = manifest.document.span_of(())
    return f"{span.file}:{span.line}"


def _diagnostic_row(diagnostic: Diagnostic) -> DiagnosticRow:
    span = diagnostic.span
    return DiagnosticRow(
        diagnostic.code,
        diagnostic.severity.value,
        diagnostic.message,
        f"{span.file}:{span.line}:{span.column}",
        diagnostic.hint,
    )


def _gpus(spec: ServingEndpointSpec) -> int:
    """GPUs per replica: over all its nodes when it spans several (LLMInferenceService)."""
    return replica_gpus(spec)


def _canary_row(
    env: ResolvedEnvironment, manifest: Manifest[ServingEndpointSpec]
) -> CanaryRow | None:
    """The canary as rendered: the endpoint's spec with the canary's model, replicas and
    resources (compiler/capacity/canary.py)."""
    canary = canary_endpoint(env, manifest)
    if canary is None or manifest.spec.canary is None:
        return None
    spec = canary.spec
    return CanaryRow(
        manifest.spec.canary.model,
        manifest.spec.canary.weight,
        spec.min_replicas,
        spec.max_replicas,
        _gpus(spec),
    )


def _endpoint_row(env: ResolvedEnvironment, manifest: Manifest[ServingEndpointSpec]) -> EndpointRow:
    spec = manifest.spec
    return EndpointRow(
        name=manifest.name,
        model_id=spec.model_id,
        route=spec.route,
        min_replicas=spec.min_replicas,
        max_replicas=spec.max_replicas,
        gpus=_gpus(spec),
        place=manifest.file,
        canary=_canary_row(env, manifest),
    )


def _config_row(endpoint: Endpoint) -> EndpointRow:
    canary = endpoint.canary
    return EndpointRow(
        endpoint.name,
        endpoint.model_id,
        endpoint.route,
        endpoint.min_replicas,
        endpoint.max_replicas,
        0,
        "",
        None
        if canary is None
        else CanaryRow(canary.model_id, canary.weight, canary.min_replicas, canary.max_replicas, 0),
    )


def spec_yaml(manifest: Manifest) -> str:
    """The manifest's spec as YAML, in the manifest's own spelling of the keys."""
    spec = manifest.spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)


@dataclass
class EstateView:
    """Every environment the console can show, in name order; ``root`` is the estate's folder
    (None when the proxy was started from proxy.json)."""

    environments: dict[str, EnvironmentView]
    served: str  # the environment this proxy serves
    root: Path | None = None
    result: ValidationResult | None = None

    @classmethod
    def from_estate(cls, root: Path, served: str) -> EstateView:
        result = validate_repository(DirectoryTree(root))
        views: dict[str, EnvironmentView] = {}
        for env in sorted(result.estate.environments, key=lambda e: e.name):
            view = EnvironmentView(env.name, env.namespace, resolved=env)
            view.endpoints = sorted(
                (_endpoint_row(env, m) for m in env.of_kind("ServingEndpoint")),
                key=lambda r: r.name,
            )
            views[env.name] = view
        for diagnostic in result.diagnostics:
            for name in _environments_of(diagnostic, views):
                views[name].diagnostics.append(_diagnostic_row(diagnostic))
        return cls(views, served, root, result)

    @classmethod
    def from_config(cls, config: ProxyConfig) -> EstateView:
        view = EnvironmentView(config.environment, config.namespace or "")
        view.endpoints = sorted((_config_row(e) for e in config.endpoints), key=lambda r: r.name)
        return cls({config.environment: view}, config.environment)

    def endpoint(self, env: str, name: str) -> Manifest[ServingEndpointSpec] | None:
        resolved = self.environments[env].resolved
        if resolved is None:
            return None
        return next((m for m in resolved.of_kind("ServingEndpoint") if m.name == name), None)


def _environments_of(diagnostic: Diagnostic, views: dict[str, EnvironmentView]) -> list[str]:
    """A diagnostic belongs to the environment whose folder holds its file; one in `_shared` to
    the environments whose checks found it (all of them when the checks do not say)."""
    parts = Path(diagnostic.span.file).parts
    if len(parts) >= 2 and parts[0] == "environments" and parts[1] in views:
        return [parts[1]]
    return list(diagnostic.environments) or list(views)


@record
class ApprovalRow:
    approved_by: str
    role: str
    status: str
    digest_valid: bool
    place: str
    file: str


def approvals_of(env: ResolvedEnvironment, model: Manifest[ModelSpec]) -> list[ApprovalRow]:
    """Each Approval of the model, and whether its digest still matches the manifest (an edit to
    the model voids it)."""
    digest = current_digest(env, model)
    return [
        ApprovalRow(
            a.spec.approved_by,
            a.spec.role,
            a.spec.status,
            a.spec.model_digest == digest,
            place(a),
            a.file,
        )
        for a in approvals_by_model(env).get(model, ())
    ]


def model_summary(env: ResolvedEnvironment, model: Manifest[ModelSpec]) -> dict[str, Any]:
    state = approval_state(env, model)
    return {
        "approved": state.approved,
        "approvers": list(state.valid_approvers),
        "needed": state.needed,
        "problems": list(state.problems),
    }


def lineage_text(view: EstateView, env: ResolvedEnvironment, model: Manifest[ModelSpec]) -> str:
    """What `llmops lineage` prints for the model."""
    diagnostics = view.result.diagnostics if view.result is not None else []
    return format_lineage_text(lineage_report(env, model, diagnostics))
