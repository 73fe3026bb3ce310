"""Every string a user writes that the renderer copies into a field Kubernetes (or the kubelet, git,
Argo CD) checks: random strings either fail `validate` with a diagnostic at that field, or render
into output that passes the rule for that field (tests/helpers/kube_rules.py, written from the
upstream definitions).

The places below are every user-controlled value of templates/ and compiler/render/ that reaches a
checked field: names and namespaces, label keys and values, hosts, Secret, ServiceAccount,
IngressClass, AppProject and ClusterTrainingRuntime names, images, URLs and URIs, git revisions and
paths, GPU resource names, tolerations, node selectors and CPU/memory quantities. Free text
(annotation values, notes, templates, hyperparameters, commands) is covered by test_safety.py: any
string is valid there and must arrive verbatim.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from compiler.check.names import RESERVED_NAMESPACE_PREFIXES, RESERVED_NAMESPACES
from compiler.diagnostics import Severity
from compiler.load.yaml_strict import parse_documents
from compiler.render.estate import render_estate
from compiler.resolve.model_digest import model_digest
from compiler.spec.model import ModelManifest
from tests.helpers import kube_rules
from tests.helpers.estate import copy_bundled_estate, validate
from tests.helpers.hostile import TEXT, dump_documents

Objects = list[dict[str, Any]]
DEV_ENV = "environments/dev/environment.yaml"
PROD_ENV = "environments/prod/environment.yaml"
DEV_ENDPOINT = "environments/dev/serving/example-model.yaml"
DEV_TRAINING = "environments/dev/training/customer-support-sft.yaml"
MODEL = "environments/_shared/catalog/example-base-model.yaml"


def of_kind(objects: Objects, kind: str) -> Objects:
    return [obj for obj in objects if obj["kind"] == kind]


def predictors(objects: Objects) -> list[dict[str, Any]]:
    return [obj["spec"]["predictor"] for obj in of_kind(objects, "InferenceService")]


def containers(objects: Objects, kind: str) -> list[dict[str, Any]]:
    found = []
    for obj in of_kind(objects, kind):
        spec = obj["spec"]
        if kind == "TrainJob":
            found.append(spec["trainer"])
        else:
            found.extend(spec["template"]["spec"]["containers"])
    return found


def resources(objects: Objects, key: str) -> list[str]:
    amounts = [
        p["model"]["resources"][part]
        for p in predictors(objects)
        for part in ("requests", "limits")
    ]
    amounts += [
        c["resources"][part] for c in containers(objects, "Job") for part in ("requests", "limits")
    ]
    return [amount[key] for amount in amounts if key in amount]


def not_reserved_namespace(text: str) -> bool:
    return (
        kube_rules.dns1123_label(text)
        and text not in RESERVED_NAMESPACES
        and not text.startswith(RESERVED_NAMESPACE_PREFIXES)
    )


@dataclass(frozen=True)
class Place:
    """One user-controlled value: where it is written, the rule of the field it lands in, how to
    find it."""

    name: str
    env: str
    file: str
    path: tuple[str | int, ...]  # in the file's first document
    rule: Callable[[str], bool]
    rendered: Callable[[Objects], list[str]]
    # what the value needs besides itself
    also: dict[tuple[str | int, ...], Any] = field(default_factory=dict)
    valid: tuple[str, ...] = ()  # examples that must render

    def __str__(self) -> str:
        return self.name


def _toleration(part: str) -> Callable[[Objects], list[str]]:
    return lambda objects: [
        t[part] for p in predictors(objects) for t in p.get("tolerations", []) if part in t
    ]


PLACES = [
    Place(
        "namespace",
        "dev",
        DEV_ENV,
        ("spec", "namespace"),
        not_reserved_namespace,
        lambda o: [
            obj["metadata"].get("namespace") or obj["metadata"]["name"]
            for obj in o
            if obj["kind"] not in ("AppProject", "Application")
        ],
        valid=("team-a",),
    ),
    Place(
        "ingress host",
        "dev",
        DEV_ENV,
        ("spec", "ingress", "host"),
        kube_rules.ingress_host,
        lambda o: [rule["host"] for obj in of_kind(o, "Ingress") for rule in obj["spec"]["rules"]],
        valid=("a.example.com", "*.example.com"),
    ),
    Place(
        "ingress class",
        "dev",
        DEV_ENV,
        ("spec", "ingress", "className"),
        kube_rules.dns1123_subdomain,
        lambda o: [obj["spec"]["ingressClassName"] for obj in of_kind(o, "Ingress")],
        valid=("nginx-internal",),
    ),
    Place(
        "TLS Secret",
        "dev",
        DEV_ENV,
        ("spec", "ingress", "tlsSecretName"),
        kube_rules.dns1123_subdomain,
        lambda o: [
            tls["secretName"] for obj in of_kind(o, "Ingress") for tls in obj["spec"].get("tls", [])
        ],
        valid=("llm-ops-tls",),
    ),
    Place(
        "service account",
        "dev",
        DEV_ENV,
        ("spec", "serviceAccountName"),
        kube_rules.dns1123_subdomain,
        lambda o: (
            [p["serviceAccountName"] for p in predictors(o)]
            + [obj["spec"]["template"]["spec"]["serviceAccountName"] for obj in of_kind(o, "Job")]
        ),
        valid=("model-reader",),
    ),
    Place(
        "Argo CD repoURL",
        "dev",
        DEV_ENV,
        ("spec", "argocd", "repoURL"),
        kube_rules.repository_url,
        lambda o: (
            [a["spec"]["source"]["repoURL"] for a in of_kind(o, "Application")]
            + [repo for p in of_kind(o, "AppProject") for repo in p["spec"]["sourceRepos"]]
        ),
        valid=("git@github.com:org/estate.git", "ssh://git@host/estate"),
    ),
    Place(
        "Argo CD targetRevision",
        "dev",
        DEV_ENV,
        ("spec", "argocd", "targetRevision"),
        kube_rules.git_revision,
        lambda o: [a["spec"]["source"]["targetRevision"] for a in of_kind(o, "Application")],
        valid=("release/1.2", "v1.0.0", "0123456789abcdef0123456789abcdef01234567"),
    ),
    Place(
        "Argo CD path",
        "dev",
        DEV_ENV,
        ("spec", "argocd", "path"),
        kube_rules.repository_path,
        lambda o: [a["spec"]["source"]["path"] for a in of_kind(o, "Application")],
        valid=("deploy/llm",),
    ),
    Place(
        "Argo CD server",
        "dev",
        DEV_ENV,
        ("spec", "argocd", "server"),
        kube_rules.http_url,
        lambda o: (
            [a["spec"]["destination"]["server"] for a in of_kind(o, "Application")]
            + [d["server"] for p in of_kind(o, "AppProject") for d in p["spec"]["destinations"]]
        ),
        valid=("https://10.0.0.1:6443",),
    ),
    Place(
        "Argo CD namespace",
        "dev",
        DEV_ENV,
        ("spec", "argocd", "namespace"),
        kube_rules.dns1123_label,
        lambda o: [
            obj["metadata"]["namespace"]
            for obj in o
            if obj["kind"] in ("AppProject", "Application")
        ],
        valid=("gitops",),
    ),
    Place(
        "Argo CD project",
        "dev",
        DEV_ENV,
        ("spec", "argocd", "project"),
        kube_rules.dns1123_subdomain,
        lambda o: (
            [p["metadata"]["name"] for p in of_kind(o, "AppProject")]
            + [a["spec"]["project"] for a in of_kind(o, "Application")]
        ),
        valid=("platform.llm",),
    ),
    Place(
        "proxy image",
        "dev",
        DEV_ENV,
        ("spec", "proxy", "image"),
        kube_rules.image_reference,
        lambda o: [c["image"] for c in containers(o, "Deployment")],
        valid=("registry.local:5000/llmops/proxy:1.2", "proxy@sha256:" + "a" * 64),
    ),
    Place(
        "proxy token Secret",
        "dev",
        DEV_ENV,
        ("spec", "proxy", "tokenSecretName"),
        kube_rules.dns1123_subdomain,
        lambda o: [
            env["valueFrom"]["secretKeyRef"]["name"]
            for c in containers(o, "Deployment")
            for env in c.get("env", [])
        ],
        valid=("proxy-token",),
    ),
    Place(
        "trainer image",
        "dev",
        DEV_ENV,
        ("spec", "training", "image"),
        kube_rules.image_reference,
        lambda o: [c["image"] for c in containers(o, "Job")],
        valid=("trainer:2",),
    ),
    Place(
        "TrainJob runtime",
        "dev",
        DEV_ENV,
        ("spec", "training", "runtime"),
        kube_rules.dns1123_subdomain,
        lambda o: [t["spec"]["runtimeRef"]["name"] for t in of_kind(o, "TrainJob")],
        also={("spec", "training", "backend"): "trainjob"},
        valid=("torch-distributed-v2",),
    ),
    Place(
        "job image",
        "dev",
        DEV_TRAINING,
        ("spec", "image"),
        kube_rules.image_reference,
        lambda o: [c["image"] for c in containers(o, "Job")],
        valid=("ghcr.io/org/train:1",),
    ),
    Place(
        "job memory",
        "dev",
        DEV_TRAINING,
        ("spec", "resourceProfile", "memory"),
        kube_rules.memory_quantity,
        lambda o: resources(o, "memory"),
        valid=("24Gi",),
    ),
    Place(
        "endpoint cpu",
        "dev",
        DEV_ENDPOINT,
        ("spec", "deploymentSpec", "resources", "cpu"),
        kube_rules.cpu_quantity,
        lambda o: [p["model"]["resources"]["limits"]["cpu"] for p in predictors(o)],
        valid=("500m", "2.5"),
    ),
    Place(
        "endpoint memory",
        "dev",
        DEV_ENDPOINT,
        ("spec", "deploymentSpec", "resources", "memory"),
        kube_rules.memory_quantity,
        lambda o: [p["model"]["resources"]["limits"]["memory"] for p in predictors(o)],
        valid=("24Gi",),
    ),
    Place(
        "label value",
        "dev",
        DEV_ENDPOINT,
        ("metadata", "labels", "team"),
        kube_rules.label_value,
        lambda o: [obj["metadata"]["labels"]["team"] for obj in of_kind(o, "InferenceService")],
        valid=("ml_platform.a",),
    ),
    Place(
        "model storageUri",
        "dev",
        MODEL,
        ("spec", "storageUri"),
        kube_rules.uri,
        lambda o: [p["model"]["storageUri"] for p in predictors(o)],
        valid=("gs://bucket/m/",),
    ),
    Place(
        "GPU resource name",
        "prod",
        PROD_ENV,
        ("spec", "gpu", "resourceName"),
        kube_rules.extended_resource_name,
        lambda o: [
            k
            for p in predictors(o)
            for k in p["model"]["resources"]["limits"]
            if k not in ("cpu", "memory")
        ],
        valid=("amd.com/gpu",),
    ),
    Place(
        "toleration key",
        "prod",
        PROD_ENV,
        ("spec", "gpu", "tolerations", 0, "key"),
        kube_rules.qualified_name,
        _toleration("key"),
        also={("spec", "gpu", "tolerations"): [{"operator": "Exists"}]},
        valid=("nvidia.com/gpu",),
    ),
    Place(
        "toleration value",
        "prod",
        PROD_ENV,
        ("spec", "gpu", "tolerations", 0, "value"),
        kube_rules.label_value,
        _toleration("value"),
        also={("spec", "gpu", "tolerations"): [{"key": "gpu", "operator": "Equal"}]},
        valid=("present",),
    ),
    Place(
        "node selector value",
        "prod",
        PROD_ENV,
        ("spec", "gpu", "nodeSelector", "nvidia.com/gpu.present"),
        kube_rules.label_value,
        lambda o: [v for p in predictors(o) for v in p.get("nodeSelector", {}).values()],
        valid=("yes-please",),
    ),
]
KEY_PLACES = [  # the user writes a key, not a value
    (
        "label key",
        DEV_ENDPOINT,
        ("metadata", "labels"),
        kube_rules.qualified_name,
        lambda o: [k for obj in of_kind(o, "InferenceService") for k in obj["metadata"]["labels"]],
    ),
    (
        "annotation key",
        DEV_ENDPOINT,
        ("metadata", "annotations"),
        kube_rules.qualified_name,
        lambda o: [
            k for obj in of_kind(o, "InferenceService") for k in obj["metadata"]["annotations"]
        ],
    ),
    (
        "node selector key",
        PROD_ENV,
        ("spec", "gpu", "nodeSelector"),
        kube_rules.qualified_name,
        lambda o: [k for p in predictors(o) for k in p.get("nodeSelector", {})],
    ),
]

NAMEISH = st.text(st.sampled_from("abcxyz0189-._/:@*~^?[\\ AZé\t\n"), max_size=30)
STRINGS = st.one_of(
    TEXT,
    NAMEISH,
    NAMEISH.map(str.lower).filter(bool),
    st.lists(st.sampled_from(["a", "b1", "x-y", "9"]), min_size=1, max_size=4).map(".".join),
)


# -- editing the bundled estate and rendering it
# ----------------------------------------------------


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_bundled_estate(tmp_path_factory.mktemp("pristine"))


@contextmanager
def estate_copy(pristine: Path) -> Iterator[Path]:
    import shutil

    with tempfile.TemporaryDirectory(prefix="llmops-formats-") as directory:
        root = Path(directory) / "estate"
        shutil.copytree(pristine, root)
        yield root


def _documents(root: Path, relative: str) -> list[dict[str, Any]]:
    documents, diagnostics = parse_documents(
        relative, (root / relative).read_text(encoding="utf-8")
    )
    assert diagnostics == []
    return [document.data for document in documents]


def _set(document: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    node: Any = document
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(node, dict) else node[key]
    node[path[-1]] = value


def write(root: Path, relative: str, edits: dict[tuple[str | int, ...], Any]) -> None:
    documents = _documents(root, relative)
    for path, value in edits.items():
        _set(documents[0], path, value)
    (root / relative).write_text(dump_documents(documents), encoding="utf-8")
    assert _documents(root, relative) == documents, "the test's dumper changed the data"
    if relative == MODEL:  # the model's digest changed: approve it again, as `llmops approve` would
        try:
            digest = model_digest(ModelManifest.model_validate(documents[0]))
        except ValidationError:
            return  # an invalid model has no digest; validate reports it
        for approval in sorted(root.glob("environments/*/approvals/*.yaml")):
            write(root, approval.relative_to(root).as_posix(), {("spec", "modelDigest"): digest})


def outcome(root: Path, env: str) -> tuple[list[tuple[str, str, tuple[Any, ...]]], Objects]:
    result = validate(root, env)
    errors = [
        (d.code, d.span.file, d.path) for d in result.diagnostics if d.severity is Severity.ERROR
    ]
    if errors:
        return errors, []
    return [], [obj for group in render_estate(result.estate).groups.values() for obj in group]


def check_place(root: Path, place: Place, value: str) -> None:
    write(root, place.file, {**place.also, place.path: value})
    errors, objects = outcome(root, place.env)
    if errors:
        where = [(file, path) for _, file, path in errors]
        if place.name != "namespace":  # a namespace can also make derived names too long (K002)
            assert (place.file, place.path) in where, (place.name, value, errors)
        return
    found = place.rendered(objects)
    assert found, f"{place.name}: {value!r} rendered nowhere"
    for rendered in found:
        assert place.rule(rendered), (
            f"{place.name}: {value!r} was accepted but renders as {rendered!r}"
        )


# -- the properties --------------------------------------------------------------------------------


def test_every_place_renders_its_valid_examples(pristine: Path) -> None:
    for place in PLACES:
        for value in place.valid:
            with estate_copy(pristine) as root:
                write(root, place.file, {**place.also, place.path: value})
                errors, objects = outcome(root, place.env)
                assert errors == [], (place.name, value)
                assert value in place.rendered(objects), (place.name, value)


@pytest.mark.parametrize("place", PLACES, ids=str)
@settings(max_examples=25)
@given(value=STRINGS)
@example(value="a\nb")
@example(value="main\x01")
@example(value="kube-system")
@example(value="1.2.3.4")
@example(value="")
def test_a_value_is_refused_at_its_field_or_renders_as_kubernetes_accepts(
    pristine: Path, place: Place, value: str
) -> None:
    with estate_copy(pristine) as root:
        check_place(root, place, value)


@pytest.mark.parametrize(
    ("name", "file", "path", "rule", "rendered"), KEY_PLACES, ids=[p[0] for p in KEY_PLACES]
)
@settings(max_examples=25)
@given(key=STRINGS)
@example(key="a\nb")
@example(key="example.com/x/y")
def test_a_key_is_refused_or_renders_as_kubernetes_accepts(
    pristine: Path,
    name: str,
    file: str,
    path: tuple[str, ...],
    rule: Callable[[str], bool],
    rendered: Callable[[Objects], list[str]],
    key: str,
) -> None:
    env = file.split("/")[1]
    with estate_copy(pristine) as root:
        documents = _documents(root, file)
        node: Any = documents[0]
        for part in path[:-1]:
            node = node[part]
        node.setdefault(path[-1], {})[key] = "v"
        write(root, file, {path: node[path[-1]]})
        errors, objects = outcome(root, env)
        if errors:
            assert any(f == file and p[: len(path)] == path for _, f, p in errors), (
                name,
                key,
                errors,
            )
            return
        assert all(rule(written) for written in rendered(objects)), (name, key)
