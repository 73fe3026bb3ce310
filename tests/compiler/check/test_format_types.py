"""The spec's string formats against Kubernetes' own rules, value by value (cheap, so many values):
whatever a format accepts, the rule of the field it is rendered into accepts too
(tests/helpers/kube_rules.py). The rendering side of the same property is
tests/compiler/render/test_formats.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from compiler.spec import formats
from compiler.spec.quantities import CpuQuantity, MemoryQuantity
from tests.helpers import kube_rules
from tests.helpers.hostile import TEXT

FORMATS: dict[str, tuple[Any, Callable[[str], bool], tuple[str, ...]]] = {
    "DNS label": (formats.DnsLabel, kube_rules.dns1123_label, ("llm-ops-dev", "a", "0abc")),
    "DNS subdomain": (formats.DnsSubdomain, kube_rules.dns1123_subdomain, ("nginx", "a.b-c.d")),
    "ingress host": (
        formats.IngressHost,
        kube_rules.ingress_host,
        ("dev.llm-ops.local", "*.example.com"),
    ),
    "image": (
        formats.ImageReference,
        kube_rules.image_reference,
        ("nginx", "localhost:5000/a/b:1.0", "ghcr.io/llmops/llmops:0.1.0", "x@sha256:" + "0" * 64),
    ),
    "storage URI": (
        formats.StorageUri,
        kube_rules.uri,
        ("s3://bucket/models/m/1.0/", "hf://org/model"),
    ),
    "http URL": (
        formats.HttpUrl,
        kube_rules.http_url,
        ("https://kubernetes.default.svc", "https://[::1]:6443"),
    ),
    "repository URL": (
        formats.RepositoryUrl,
        kube_rules.repository_url,
        ("https://github.com/org/estate.git", "git@github.com:org/estate.git"),
    ),
    "git revision": (
        formats.GitRevision,
        kube_rules.git_revision,
        ("HEAD", "main", "release/1.2", "v1.0.0"),
    ),
    "repository path": (
        formats.RepositoryPath,
        kube_rules.repository_path,
        (".", "deploy/llm", "./x"),
    ),
    "extended resource": (
        formats.ExtendedResourceName,
        kube_rules.extended_resource_name,
        ("nvidia.com/gpu", "amd.com/gpu"),
    ),
    "label key": (formats.QualifiedName, kube_rules.qualified_name, ("team", "example.com/team")),
    "label value": (formats.LabelValue, kube_rules.label_value, ("", "ml_platform.a")),
    "CPU": (CpuQuantity, kube_rules.cpu_quantity, ("4", "0.5", "500m", "1024")),
    "memory": (MemoryQuantity, kube_rules.memory_quantity, ("16Gi", "512Mi", "1Mi", "64Ti")),
}
PIECES = [
    "a",
    "z9",
    "-",
    ".",
    "/",
    ":",
    "@",
    "_",
    "*.",
    "//",
    "..",
    "Gi",
    "m",
    "sha256:" + "a" * 32,
    "https://",
    "git@",
    "kubernetes.io/",
    "requests.",
    " ",
    "\n",
    "\x01",
    "é",
    "A",
    "~",
    "[",
    "\\",
    ".lock",
    "@{",
]
STRINGS = st.one_of(TEXT, st.lists(st.sampled_from(PIECES), max_size=8).map("".join))


def accepts(annotation: Any, value: str) -> bool:
    try:
        TypeAdapter(annotation).validate_python(value, strict=True)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("name", FORMATS)
def test_real_world_values_are_accepted(name: str) -> None:
    annotation, rule, examples = FORMATS[name]
    for value in examples:
        assert accepts(annotation, value) and rule(value), value


@pytest.mark.parametrize("name", FORMATS)
@given(value=STRINGS)
# git reads it as a URL with the scheme `i@https`, not as scp-like
@example(value="i@https://x.y/z")
@example(value="https://:x.y/z")  # no host
@example(value="xkubernetes.io/gpu")  # Kubernetes' own resource domain
@example(value="*." + "a." * 126 + "a")  # a wildcard host of 255 characters, 253 after its `*.`
def test_what_a_format_accepts_kubernetes_accepts(name: str, value: str) -> None:
    annotation, rule, _ = FORMATS[name]
    if accepts(annotation, value):
        assert rule(value), f"{name} accepts {value!r}"


def test_a_storage_uri_kubernetes_would_expand_is_refused() -> None:
    """Storage URIs go into containers' env values and KServe's storage initializer's args, where
    Kubernetes replaces `$(NAME)` and `$$`: the program would read another URI."""
    for expanded in ("s3://models/run-$(LLMOPS_TRAINING_METHOD)/", "s3://models/cost$$1/"):
        assert not accepts(formats.StorageUri, expanded), expanded
    assert accepts(formats.StorageUri, "s3://models/$1/")  # a lone `$` stays itself
