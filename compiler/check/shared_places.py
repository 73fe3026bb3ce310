"""Places two environments cannot share (code family K, continued): a namespace, an ingress host.

Each environment's render owns its namespace (Namespace, proxy ConfigMap, Service, Deployment,
InferenceServices, Ingresses, all under the same names) and its ingress host (the proxy's own paths
are on every host). Two environments rendered into one namespace, or serving one host through one
IngressClass, give two Argo CD Applications that overwrite each other's objects. These rules compare
an environment with the others the run sees: every environment in `llmops validate` and `llmops
render`; with `--env`, only those its promotion policy names.
"""

from __future__ import annotations

from collections.abc import Iterator

from compiler.check.rule import Finding, RelatedPlace, rule
from compiler.diagnostics import Category, Severity
from compiler.positions import Path
from compiler.resolve.environment import ResolvedEnvironment
from compiler.target.naming import ingress_host

E = Severity.ERROR


def _others(env: ResolvedEnvironment) -> list[ResolvedEnvironment]:
    """The run's other environments whose settings are known, by name."""
    return [peer for _, peer in sorted(env.peers.items()) if peer.settings_gap is None]


def _related(peer: ResolvedEnvironment, path: Path, message: str) -> tuple[RelatedPlace, ...]:
    if peer.settings_manifest is None:
        return ()
    # a setting left to its default is shown at the nearest place written (its `spec`)
    return (RelatedPlace(peer.settings_manifest, path, message),)


@rule(
    "K010",
    "namespace-shared",
    E,
    "Two environments render into the same namespace.",
    category=Category.NAMING,
)
def namespace_shared(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        No two environments have the same namespace (`spec.namespace`, default `llm-ops-<env>`).
        Compared among the environments a run sees: all of them in `llmops validate` and `llmops
        render`; with `--env`, those its promotion policy names.
    Why it matters:
        Each environment renders the same objects (the proxy's ConfigMap, Service and Deployment,
        the InferenceServices, the Ingresses) under the same names in its namespace. In one shared
        namespace the two environments' Argo CD Applications overwrite each other's objects on
        every sync, and each prunes what the other created.
    Wrong: dev takes staging's namespace
        # file: environments/dev/environment.yaml
        spec:
          namespace: llm-ops-stg
    Right: each environment has its own (the default is `llm-ops-<env>`)
        # file: environments/dev/environment.yaml
        spec:
          namespace: llm-ops-dev
    """
    settings = env.settings_manifest
    if settings is None:
        return
    for peer in _others(env):
        if peer.namespace == env.namespace:
            yield Finding(
                settings,
                ("spec", "namespace"),
                f'environments `{env.name}` and `{peer.name}` both render into namespace "'
                f'{env.namespace}"',
                _own_namespace_hint(env, peer),
                related=_related(peer, ("spec", "namespace"), f"`{peer.name}` uses it too"),
            )


@rule(
    "K011",
    "ingress-host-shared",
    E,
    "Two environments serve the same ingress host through the same IngressClass.",
    category=Category.NAMING,
)
def ingress_host_shared(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        No two environments serve the same ingress host (`spec.ingress.host`, default
        `<env>.llm-ops.local`) through the same IngressClass.
        Compared among the environments a run sees, as for K010.
    Why it matters:
        Every environment's proxy Ingress claims the platform paths (`/llm-ops/v1/health`,
        `/llm-ops/v1/serving`, `/llm-ops/v1/prompts`) on its host, and an endpoint's route is the
        same path in every environment it is promoted to. Two Ingresses claiming one host and path
        are refused by ingress-nginx's admission webhook, or one silently wins: callers of one
        environment reach the other's models.
    Wrong: dev serves staging's host (stg's default, `stg.llm-ops.local`)
        # file: environments/dev/environment.yaml
        spec:
          ingress:
            host: stg.llm-ops.local
    Right: a host of its own
        # file: environments/dev/environment.yaml
        spec:
          ingress:
            host: dev.llm-ops.example.com
    """
    settings = env.settings_manifest
    if settings is None:
        return
    mine = _host_and_class(env)
    for peer in _others(env):
        if _host_and_class(peer) == mine:
            yield Finding(
                settings,
                ("spec", "ingress", "host"),
                f"environments `{env.name}` and `{peer.name}` both serve host "
                f'"{ingress_host(env.settings.ingress.host, env.name)}" through IngressClass '
                f'"{env.settings.ingress.class_name}"',
                f'give each environment its own host, e.g. "{env.name}.llm-ops.example.com"',
                related=_related(peer, ("spec", "ingress", "host"), f"`{peer.name}` serves it too"),
            )


def _own_namespace_hint(env: ResolvedEnvironment, peer: ResolvedEnvironment) -> str:
    default = f"llm-ops-{env.name}"
    if env.namespace == default:
        return f'"{default}" is `{env.name}`\'s default: give `{peer.name}` its own namespace'
    return f'give each environment its own namespace, e.g. "{default}"'


def _host_and_class(env: ResolvedEnvironment) -> tuple[str, str]:
    return ingress_host(env.settings.ingress.host, env.name), env.settings.ingress.class_name


CHECKS = (namespace_shared, ingress_host_shared)
