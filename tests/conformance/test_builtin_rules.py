"""Built-in objects are held to the API server's own rules, not only their OpenAPI types: names and
namespaces are DNS names of the kind's form, label and annotation keys and values have their
formats, keyed lists (containers, env, ports, volumes, ...) have one entry per key, and ConfigMaps,
Secrets and annotations stay under their size limits."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmops.conformance.verify import check_text
from tests.helpers.conformance import catalog


def codes_of(obj: dict[str, object]) -> list[str]:
    _, diagnostics = check_text("m.yaml", json.dumps(obj), catalog())
    return [d.code for d in diagnostics]


def config_map(name: str = "c", **extra: object) -> dict[str, object]:
    metadata = {"name": name, **extra.pop("metadata", {})}  # type: ignore[dict-item]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, **extra}


def pod(*containers: dict[str, object]) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": list(containers)},
    }


@pytest.mark.parametrize(
    ("kind", "api_version", "name", "accepted"),
    [
        ("ConfigMap", "v1", "a.b-c", True),
        ("ConfigMap", "v1", "UPPER_case", False),
        ("ConfigMap", "v1", "x\x1b[2J", False),
        ("ConfigMap", "v1", "", False),
        ("ConfigMap", "v1", "a" * 254, False),
        ("Namespace", "v1", "a.b", False),  # a label: no dots
        ("Namespace", "v1", "a" * 64, False),
        ("Service", "v1", "1abc", False),  # DNS-1035: starts with a letter
        ("Service", "v1", "abc1", True),
        ("Deployment", "apps/v1", "-x", False),
        ("ClusterRole", "rbac.authorization.k8s.io/v1", "system:aggregate-to-view", True),
        ("ClusterRole", "rbac.authorization.k8s.io/v1", "a/b", False),
    ],
)
def test_names_follow_the_kind_s_rule(
    kind: str, api_version: str, name: str, accepted: bool
) -> None:
    obj = {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}}
    if kind == "Deployment":
        obj["spec"] = {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "i"}]},
            },
        }
    assert ("V004" not in codes_of(obj)) is accepted


def test_metadata_fields_have_their_formats() -> None:
    assert codes_of(config_map(metadata={"namespace": "Bad Namespace"})) == ["V004"]
    assert codes_of(config_map(metadata={"labels": {"bad key!": "v"}})) == ["V004"]
    assert codes_of(config_map(metadata={"labels": {"k": "bad value!"}})) == ["V004"]
    assert codes_of(config_map(metadata={"labels": {"k": "v" * 64}})) == ["V004"]
    assert codes_of(config_map(metadata={"annotations": {"bad key!": "any text"}})) == ["V004"]
    good = {"labels": {"example.com/k": "", "k": "a.b_c-d"}, "annotations": {"a/b": "x\ny"}}
    assert codes_of(config_map(metadata=good)) == []
    nameless = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}
    assert codes_of(nameless) == ["V003"]
    assert codes_of({**nameless, "metadata": {"generateName": "c-"}}) == []


@pytest.mark.parametrize(
    ("template_labels", "match_labels", "accepted"),
    [
        ({"a": "b"}, {"a": "b"}, True),
        ({"a": "bad value!"}, {"a": "b"}, False),  # a pod template's labels
        ({"bad key!": "b", "a": "b"}, {"a": "b"}, False),
        ({"a": "b"}, {"a": "b" * 64}, False),  # a selector's
    ],
)
def test_labels_have_their_format_wherever_they_appear(
    template_labels: dict[str, str], match_labels: dict[str, str], accepted: bool
) -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "selector": {"matchLabels": match_labels},
            "template": {
                "metadata": {"labels": template_labels},
                "spec": {"containers": [{"name": "c", "image": "i"}]},
            },
        },
    }
    assert ("V004" not in codes_of(deployment)) is accepted


def test_a_wrong_key_is_shown_at_the_key() -> None:
    text = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels:\n    "b k": v\n'
    _, (diagnostic,) = check_text("m.yaml", text, catalog())
    assert (diagnostic.span.line, diagnostic.span.column) == (6, 5)
    assert "'b k' is not a valid key" in diagnostic.message


def test_keyed_lists_refuse_two_entries_with_one_key() -> None:
    assert codes_of(pod({"name": "c", "image": "i"}, {"name": "c", "image": "j"})) == ["V007"]
    env = [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]
    assert codes_of(pod({"name": "c", "image": "i", "env": env})) == ["V007"]
    # a port without a protocol is a TCP port
    ports = [{"containerPort": 80}, {"containerPort": 80, "protocol": "TCP"}]
    assert codes_of(pod({"name": "c", "image": "i", "ports": ports})) == ["V007"]
    udp = [{"containerPort": 80}, {"containerPort": 80, "protocol": "UDP"}]
    assert codes_of(pod({"name": "c", "image": "i", "ports": udp})) == []
    mounts = [{"name": "v", "mountPath": "/m"}, {"name": "w", "mountPath": "/m"}]
    assert codes_of(pod({"name": "c", "image": "i", "volumeMounts": mounts})) == ["V007"]
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"ports": [{"port": 80, "name": "a"}, {"port": 80, "name": "b"}]},
    }
    assert codes_of(service) == ["V007"]


def test_config_maps_and_secrets_stay_under_one_mebibyte() -> None:
    half = "x" * (1 << 19)
    assert codes_of(config_map(data={"a": half, "b": half})) == []
    assert codes_of(config_map(data={"a": half, "b": half + "x"})) == ["V009"]
    binary = base64.b64encode(b"\0" * (1 << 19)).decode()
    assert codes_of(config_map(data={"a": half}, binaryData={"b": binary})) == []  # decoded size
    assert codes_of(config_map(data={"a": half + "x"}, binaryData={"b": binary})) == ["V009"]
    assert codes_of(config_map(data={"a": "1"}, binaryData={"a": "MQ=="})) == ["V007"]
    assert codes_of(config_map(data={"bad key": "1"})) == ["V004"]
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}
    assert codes_of({**secret, "data": {"a": binary, "b": binary}}) == []
    assert codes_of({**secret, "data": {"a": binary}, "stringData": {"b": half + "x"}}) == ["V009"]


def test_annotations_stay_under_256_kibibytes_on_every_kind() -> None:
    big = {"annotations": {"a": "x" * (256 << 10)}}
    assert codes_of(config_map(metadata=big)) == ["V009"]
    assert codes_of(config_map(metadata={"annotations": {"a": "x" * (255 << 10)}})) == []


def test_conform_refuses_the_tester_s_objects_through_the_command(tmp_path: Path) -> None:
    text = (
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "x\\e[2J"\ndata:\n  a: b\n---\n'
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
        "    - {name: c, image: i}\n    - {name: c, image: i}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n"
        f"  a: {'x' * (3 << 20)}\n"
    )
    (tmp_path / "objects.yaml").write_text(text, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "llmops.cli.main", "conform", str(tmp_path / "objects.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    found = re.findall(r"error\[(V\d+)\]", done.stdout + done.stderr)
    assert sorted(found) == ["V004", "V007", "V009"], done.stdout + done.stderr
    assert "\x1b" not in done.stdout + done.stderr


_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def _is_subdomain(name: str) -> bool:
    """k8s.io/apimachinery's IsDNS1123Subdomain, written independently of the checker's pattern."""
    return 0 < len(name) <= 253 and all(_LABEL.fullmatch(part) for part in name.split("."))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("aZ09-._/ \x1b\né"), max_size=12) | st.just("a" * 254))
def test_config_map_names_are_judged_as_the_api_server_judges_them(name: str) -> None:
    assert ("V004" not in codes_of(config_map(name))) is _is_subdomain(name)
