"""Kubernetes names and routes (code family K): what the cluster will accept, checked before it sees
it."""

from __future__ import annotations

import json
from collections.abc import Iterator

from compiler.check.rule import Finding, RelatedPlace, rule
from compiler.diagnostics import Category, Severity
from compiler.load.estate import ENVIRONMENTS_DIR, is_valid_environment_name
from compiler.positions import Path, Span
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.spec.serving import ROUTE_PREFIX, ServingEndpointSpec
from compiler.target import naming

E = Severity.ERROR
# InferenceServices must be DNS-1035 labels (KServe's webhook); the rest DNS-1123 labels.
_NEEDS_DNS1035 = frozenset({"ServingEndpoint"})


def is_label_name(name: str) -> bool:
    """A name K001 accepts the characters of (a DNS-1123 label); the pipeline treats a manifest
    with any other name as a gap, since what refers to it may mean it by another name."""
    return naming.DNS1123_LABEL.fullmatch(name) is not None


def _name_problem(manifest: Manifest) -> str | None:
    name = manifest.name
    if len(name) > naming.MAX_LABEL:
        return f"is {len(name)} characters; the limit is {naming.MAX_LABEL}"
    if manifest.kind in _NEEDS_DNS1035 and not naming.DNS1035_LABEL.fullmatch(name):
        return (
            "must start with a lowercase letter and contain only lowercase letters, digits and '-'"
        )
    if not is_label_name(name):
        return (
            "may contain only lowercase letters, digits and '-', and must start and end with a "
            "letter or digit"
        )
    return None


def _suggest(name: str, letter_first: bool) -> str:
    cleaned = "".join(c if c.isascii() and c.isalnum() else "-" for c in name.lower()).strip("-")
    while "--" in cleaned:
        cleaned = cleaned.replace("--", "-")
    if cleaned and letter_first and not cleaned[0].isalpha():
        cleaned = "x-" + cleaned
    return cleaned[: naming.MAX_LABEL].rstrip("-") or "name"


@rule(
    "K001",
    "invalid-name",
    E,
    "metadata.name is not a valid Kubernetes name.",
    category=Category.NAMING,
)
def invalid_name(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Every manifest's `metadata.name` is a valid Kubernetes name: lowercase letters, digits and
        '-', at most 63 characters, starting and ending with a letter or digit, and starting with a
        letter for a ServingEndpoint (KServe requires it). The hint suggests a valid spelling.
    Why it matters:
        Names become object names, label values and route segments in what llmops renders. The API
        server would refuse the object only at sync time, after the merge, so the mistake would
        surface in Argo CD instead of in review.
    Wrong: `_` in a name
        # file: environments/dev/prompts/support-concise.yaml
        metadata:
          name: support_concise
    Right: lowercase letters, digits and '-'
        # file: environments/dev/prompts/support-concise.yaml
        metadata:
          name: support-concise
    """
    for manifest in env.manifests:
        problem = manifest.derived(_name_problem)
        if problem is not None:
            yield Finding(
                manifest,
                ("metadata", "name"),
                f'name "{manifest.name}" {problem}',
                f'e.g. "{_suggest(manifest.name, manifest.kind in _NEEDS_DNS1035)}"',
            )


@rule(
    "K002",
    "derived-name-too-long",
    E,
    "A name the renderer derives would exceed 63 characters.",
    category=Category.NAMING,
)
def derived_name_too_long(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        The names llmops and KServe derive from a manifest fit in one DNS label of 63 characters:
        the predictor `<name>-predictor`, the InferenceService's host label `<name>-<namespace>`,
        and a training Job's `<name>-<8 hex>`. With `training.backend: trainjob`, Kubeflow Trainer
        runs the TrainJob as a JobSet whose pods are named `<name>-<8 hex>-node-0-0-<5 random>`:
        JobSet refuses it unless that name fits and starts with a letter (a DNS-1035 label), so a
        training job's name is then at most 39 characters and starts with a letter. The message
        names the derived name that is too long.
    Why it matters:
        The manifest's own name is valid, so nothing looks wrong until KServe creates the derived
        objects in the cluster and fails, after the merge; the endpoint never becomes ready.
    Wrong: a 53-character endpoint name in namespace llm-ops-dev
        # file: environments/dev/serving/support-canary.yaml
        metadata:
          name: customer-support-llama-3-8b-instruct-sft-v2-eu-canary
    Right: a shorter name
        # file: environments/dev/serving/support-canary.yaml
        metadata:
          name: support-llama-3-8b-sft-v2-eu-canary
    """
    backend = env.settings.training.backend
    for manifest in env.manifests:
        if manifest.derived(_name_problem) is not None:
            continue
        for what, derived in naming.derived_label_names(
            manifest.kind, manifest.name, env.namespace, backend
        ):
            if not derived[:1].isalpha() and derived.endswith(naming.TRAINJOB_POD_SUFFIX):
                yield Finding(
                    manifest,
                    ("metadata", "name"),
                    f'the {what} "{derived}" starts with a digit; JobSet requires a letter first '
                    "(a DNS-1035 label)",
                    "start the training job's name with a letter",
                )
            elif len(derived) > naming.MAX_LABEL:
                yield Finding(
                    manifest,
                    ("metadata", "name"),
                    f'the {what} "{derived}" would be {len(derived)} '
                    f"characters; the limit is {naming.MAX_LABEL}",
                    f"shorten the name by {len(derived) - naming.MAX_LABEL} characters or more",
                )


def route_name(route: str) -> str | None:
    """The `<name>` of a well-formed `/llm-ops/v1/serve/<name>` route, else None."""
    if not route.startswith(ROUTE_PREFIX):
        return None
    name = route[len(ROUTE_PREFIX) :]
    if len(name) > naming.MAX_LABEL or not naming.DNS1123_LABEL.fullmatch(name):
        return None
    return name


@rule(
    "K003",
    "invalid-route",
    E,
    "A route is not `/llm-ops/v1/serve/<name>`.",
    category=Category.NAMING,
)
def invalid_route(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Every endpoint's `route` has the form `/llm-ops/v1/serve/<name>`, the route format of the
        original platform, with `<name>` a valid name segment.
    Why it matters:
        The proxy serves endpoints only under `/llm-ops/v1/serve/`, and the Ingress llmops renders
        routes that prefix to it; a route outside it would be rendered but never reached, so callers
        would get 404s from an endpoint that looks deployed.
    Wrong: no `/llm-ops` prefix
        # file: environments/dev/serving/example-model.yaml
        spec:
          modelId: example-base-model@1.0
          route: /v1/serve/example-model
    Right:
        # file: environments/dev/serving/example-model.yaml
        spec:
          modelId: example-base-model@1.0
          route: /llm-ops/v1/serve/example-model
    """
    for endpoint in env.of_kind("ServingEndpoint"):
        if route_name(endpoint.spec.route) is None:
            yield Finding(
                endpoint,
                ("spec", "route"),
                f'route "{endpoint.spec.route}" is not of the form {ROUTE_PREFIX}<name>',
                f"e.g. {ROUTE_PREFIX}{endpoint.name}",
            )


@rule(
    "K004",
    "duplicate-route",
    E,
    "Two endpoints of one environment share a route.",
    category=Category.NAMING,
)
def duplicate_route(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        No two endpoints of one environment share a route. The note points at the endpoint that
        already uses it.
    Why it matters:
        Each route maps to one endpoint. With two, which one answers would depend on the proxy's
        order, and Ingress controllers merge or reject duplicate paths differently; callers would
        reach a canary they did not ask for, or the other way round.
    Wrong: a canary copied without changing its route
        # file: environments/dev/serving/example-model-canary.yaml
        metadata:
          name: example-model-canary
        spec:
          modelId: example-base-model@1.0
          route: /llm-ops/v1/serve/example-model
        # file: environments/dev/serving/example-model.yaml
          route: /llm-ops/v1/serve/example-model
    Right: the canary has a route of its own
        # file: environments/dev/serving/example-model-canary.yaml
        metadata:
          name: example-model-canary
        spec:
          modelId: example-base-model@1.0
          route: /llm-ops/v1/serve/example-model-canary
    """
    seen: dict[str, Manifest[ServingEndpointSpec]] = {}
    for endpoint in env.of_kind("ServingEndpoint"):
        route = endpoint.spec.route.rstrip("/")
        if route in seen:
            # Report the endpoint the route is not named after (file order is arbitrary); the other
            # keeps it.
            reported, kept = endpoint, seen[route]
            if route_name(route) == endpoint.name:
                reported, kept = kept, endpoint
                seen[route] = endpoint
            yield Finding(
                reported,
                ("spec", "route"),
                f"route {route} is already used by {kept.subject}",
                f"e.g. {ROUTE_PREFIX}{reported.name}",
                related=(RelatedPlace(kept, ("spec", "route"), "also used here"),),
            )
        else:
            seen[route] = endpoint


@rule(
    "K005",
    "invalid-namespace",
    E,
    "The environment's folder name or namespace is not a valid name.",
    category=Category.NAMING,
)
def invalid_namespace(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        The environment's namespace is a valid Kubernetes namespace (a DNS label: lowercase letters,
        digits and '-', at most 63 characters), whether written as `spec.namespace` or derived from
        the folder name as `llm-ops-<env>`.
    Why it matters:
        Every object of the environment is rendered into that namespace; with an invalid one the API
        server refuses all of them, so nothing of the environment deploys.
    Wrong: `_` in the namespace
        # file: environments/dev/environment.yaml
        spec:
          namespace: llm_ops_dev
    Right:
        # file: environments/dev/environment.yaml
        spec:
          namespace: llm-ops-dev
    """
    own = [manifest for manifest in env.manifests if manifest.origin == env.name]
    anchor = (
        env.settings_manifest
        or (own[0] if own else None)
        or (env.manifests[0] if env.manifests else None)
    )
    if anchor is None:
        return
    # A manifest from _shared says nothing about this folder: point at the folder itself instead.
    span = None if anchor.origin == env.name else Span(f"{ENVIRONMENTS_DIR}/{env.name}", 1, 1)
    if not is_valid_environment_name(env.name):
        lower = env.name.lower()
        yield Finding(
            anchor,
            ("metadata", "name"),
            f"environment folder `{env.name}` is not a valid name",
            f"rename the folder to `{lower}`"
            if is_valid_environment_name(lower)
            else "use lowercase letters, digits and '-'",
            # the folder's name, not another manifest's: only the Environment's mirrors it
            span=span
            if anchor is env.settings_manifest
            else Span(f"{ENVIRONMENTS_DIR}/{env.name}", 1, 1),
        )
    elif len(env.namespace) > naming.MAX_LABEL or not naming.DNS1123_LABEL.fullmatch(env.namespace):
        path = ("spec", "namespace") if env.settings.namespace else ("metadata", "name")
        default = "" if env.settings.namespace else " (the default, llm-ops-<folder>)"
        hint = "lowercase letters, digits and '-', at most 63 characters"
        if not env.settings.namespace:
            hint += "; shorten the folder name or set spec.namespace in environment.yaml"
        yield Finding(
            anchor,
            path,
            f'namespace "{env.namespace}"{default} is not a valid Kubernetes namespace',
            hint,
            span=span,
        )


def label_key_problem(key: str) -> str | None:
    prefix, slash, name = key.rpartition("/")
    if slash and (
        len(prefix) > naming.MAX_SUBDOMAIN or not naming.DNS1123_SUBDOMAIN.fullmatch(prefix)
    ):
        return (
            f'has the prefix "{prefix}", which is not a DNS subdomain (lowercase letters, '
            "digits, '-' and '.')"
        )
    if not name or len(name) > naming.MAX_LABEL or not naming.LABEL_NAME.fullmatch(name):
        return (
            "must be at most 63 characters of letters, digits, '-', '_' and '.', starting and "
            "ending with a letter or digit"
        )
    return None


@rule(
    "K006",
    "invalid-label",
    E,
    "A label or annotation key, or a label value, is not valid in Kubernetes.",
    category=Category.NAMING,
)
def invalid_label(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Label and annotation keys of every manifest, and label values, are valid in Kubernetes: keys
        are an optional DNS-subdomain prefix and a name of at most 63 characters; label values at
        most 63 characters of letters, digits, '-', '_' and '.', starting and ending with a letter
        or digit. Node-selector labels in environment.yaml are checked too. A TrainingJob's labels,
        which its Job's pods carry, leave the Job controller's own to it: `job-name`,
        `controller-uid` and `batch.kubernetes.io/...`; no manifest sets KServe's
        (`serving.kserve.io/...`) or the proxy's selector (`app.kubernetes.io/name:
        llmops-proxy`), which its pods would carry.
    Why it matters:
        Labels and annotations are copied onto the rendered objects; the API server rejects a
        malformed one with the whole object, at sync time. Free text (an e-mail address, a sentence)
        belongs in annotations, whose values may be anything.
    Wrong: an e-mail address as a label value
        # file: environments/dev/prompts/support-concise.yaml
          labels:
            team: ml-platform
        ...
            contact: alice@example.com
    Right: free text in an annotation
        # file: environments/dev/prompts/support-concise.yaml
          labels:
            team: ml-platform
          # Right: annotation values may be any text.
          annotations:
            contact: alice@example.com
    """
    for manifest in env.manifests:
        yield from manifest.derived(_metadata_label_findings)
    if env.settings_manifest is not None:  # node selectors match node labels
        yield from _label_findings(
            env.settings_manifest, ("spec", "gpu", "nodeSelector"), env.settings.gpu.node_selector
        )


# Labels the Job controller sets on the pods of a Job (its template): the API server refuses a Job
# whose template sets them to anything but the Job's own name and uid, and a TrainingJob's labels
# are copied onto its Job's template
JOB_CONTROLLER_LABELS = frozenset({"job-name", "controller-uid"})
JOB_CONTROLLER_PREFIX = "batch.kubernetes.io/"


def _metadata_label_findings(manifest: Manifest) -> tuple[Finding, ...]:
    """K006's findings in one manifest's own labels and annotations."""
    metadata = manifest.model.metadata
    return (
        *_label_findings(manifest, ("metadata", "labels"), metadata.labels),
        *_label_findings(manifest, ("metadata", "annotations"), metadata.annotations, False),
        *(_job_controller_findings(manifest) if manifest.kind == "TrainingJob" else ()),
        *_selector_findings(manifest),
    )


# Labels that select pods: KServe's own on the pods of an InferenceService (which carry its
# labels), and the proxy's Service selector, which any other pod of the environment carrying it
# would join (model pods answering the proxy's traffic)
KSERVE_LABEL_PREFIX = "serving.kserve.io/"
PROXY_SELECTOR = ("app.kubernetes.io/name", naming.PROXY_NAME)


def _selector_findings(manifest: Manifest) -> Iterator[Finding]:
    for key, value in manifest.model.metadata.labels.items():
        if key.startswith(KSERVE_LABEL_PREFIX):
            why = "KServe sets it on the pods it makes, and selects them by it"
        elif (key, value) == PROXY_SELECTOR:
            why = (
                "it is the proxy's: the proxy's Service would send its traffic to every pod "
                "carrying it"
            )
        else:
            continue
        yield Finding(
            manifest,
            ("metadata", "labels", key),
            f"label {json.dumps(key)}: {json.dumps(value)} is not this manifest's to set: {why}",
            "name the label otherwise, e.g. with your own prefix (`example.com/...`)",
            key=True,
        )


def _job_controller_findings(manifest: Manifest) -> Iterator[Finding]:
    for key in manifest.model.metadata.labels:
        if key in JOB_CONTROLLER_LABELS or key.startswith(JOB_CONTROLLER_PREFIX):
            yield Finding(
                manifest,
                ("metadata", "labels", key),
                f"label key {json.dumps(key)} belongs to Kubernetes' Job controller, which sets it "
                "on the pods of the Job this manifest renders; the API server refuses a Job whose "
                "pod template sets it to anything but the Job's own name and uid",
                "name the label otherwise, e.g. with your own prefix (`example.com/job-name`)",
                key=True,
            )


def _label_findings(
    manifest: Manifest, path: Path, entries: dict[str, str], is_label: bool = True
) -> Iterator[Finding]:
    what = "label" if is_label else "annotation"
    for key, value in entries.items():
        problem = label_key_problem(key)
        if problem is not None:
            yield Finding(
                manifest, (*path, key), f"{what} key {json.dumps(key)} {problem}", key=True
            )
        elif (
            is_label
            and value
            and (len(value) > naming.MAX_LABEL or not naming.LABEL_NAME.fullmatch(value))
        ):
            yield Finding(
                manifest,
                (*path, key),
                f"label value {json.dumps(value)} is not valid: "
                "at most 63 characters of letters, digits, '-', '_' and '.', starting and "
                "ending with a letter or digit",
                "labels hold short identifiers; put free text under metadata.annotations",
            )


# Namespaces of the cluster itself, of its distribution (OpenShift, Rancher, GKE) and of the
# controllers llmops deploys through or onto or that clusters commonly run beside it. llmops renders
# the environment's Namespace with its own pod-security labels and Argo CD options: for one of these
# it would relabel, and then own, a namespace that system components need (some run privileged
# pods).
RESERVED_NAMESPACES = frozenset(
    {
        "default",
        "openshift",
        "argocd",
        "kserve",
        "cert-manager",
        "ingress-nginx",
        "kubeflow",
        "kubeflow-system",
        "gpu-operator",
        "nvidia-gpu-operator",
        "gatekeeper-system",
        "monitoring",
        "prometheus",
        "flux-system",
        "kyverno",
        "linkerd",
        "metallb-system",
        "longhorn-system",
        "rook-ceph",
        "local-path-storage",
        "kubernetes-dashboard",
    }
)
RESERVED_NAMESPACE_PREFIXES = (
    "kube-",
    "openshift-",
    "cattle-",  # Rancher
    "gke-",
    "gmp-",  # GKE managed Prometheus
    "istio-",
    "knative-",
    "linkerd-",
    "calico-",
    "tigera-",
)


def reserved_namespace(namespace: str, argocd_namespace: str) -> bool:
    return (
        namespace in RESERVED_NAMESPACES
        or namespace == argocd_namespace
        or namespace.startswith(RESERVED_NAMESPACE_PREFIXES)
    )


@rule(
    "K007",
    "reserved-namespace",
    E,
    "The environment's namespace belongs to Kubernetes or a system component.",
    category=Category.NAMING,
)
def reserved_namespace_used(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        The environment's namespace is not one the cluster or its components own: `default`, every
        `kube-*`, `openshift`/`openshift-*`, Rancher's `cattle-*`, GKE's `gke-*` and `gmp-*`, Argo
        CD's namespace (its own and any other environment's the run sees), those of the components
        llmops relies on (kserve, `knative-*`, cert-manager, ingress-nginx, `istio-*`, kubeflow,
        kubeflow-system, gpu-operator, nvidia-gpu-operator) and of those clusters commonly run
        beside it (gatekeeper-system, monitoring, prometheus,
        flux-system, kyverno, linkerd and `linkerd-*`, `calico-*`, `tigera-*`, metallb-system,
        longhorn-system, rook-ceph, local-path-storage, kubernetes-dashboard).
    Why it matters:
        llmops renders the environment's Namespace with its own labels (pod security `baseline`) and
        Argo CD prunes what it does not render there; applied to a system namespace, that relabels
        it and can stop the cluster's own pods.
    Wrong: kube-system
        # file: environments/dev/environment.yaml
        spec:
          namespace: kube-system
    Right: a namespace of the environment's own (the default is `llm-ops-<env>`)
        # file: environments/dev/environment.yaml
        spec:
          namespace: llm-ops-dev
    """
    settings = env.settings_manifest
    if settings is None or not env.settings.namespace:
        return
    argocd_namespaces = {peer.settings.argocd.namespace for peer in env.peers.values()}
    if reserved_namespace(env.settings.namespace, env.settings.argocd.namespace) or (
        env.settings.namespace in argocd_namespaces  # where another environment's Argo CD runs
    ):
        yield Finding(
            settings,
            ("spec", "namespace"),
            f'namespace "{env.settings.namespace}" belongs to the '
            "cluster or one of its system components",
            f'use a namespace of its own, e.g. "llm-ops-{env.name}"',
        )


CHECKS = (
    invalid_name,
    derived_name_too_long,
    invalid_route,
    duplicate_route,
    invalid_namespace,
    invalid_label,
    reserved_namespace_used,
)
