"""K007: an environment may not take a namespace of the cluster or of the components llmops relies
on (llmops would render a Namespace for it with its own pod-security labels and own what is in
it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.estate import codes, validate, write_files

ENVIRONMENT = """\
apiVersion: llmops.io/v1
kind: Environment
metadata:
  name: dev
spec:
  namespace: {namespace}
  argocd:
    namespace: {argocd}
"""


def diagnose(root: Path, namespace: str, argocd: str = "argocd") -> list[str]:
    write_files(
        root,
        {
            "environments/dev/environment.yaml": ENVIRONMENT.format(
                namespace=namespace, argocd=argocd
            )
        },
    )
    return codes(validate(root).diagnostics)


@pytest.mark.parametrize(
    "namespace",
    [
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "kube-anything",
        "default",
        "argocd",
        "kserve",
        "cert-manager",
        "gpu-operator",
        "openshift",
        "openshift-config",
        "gatekeeper-system",
        "monitoring",
        "cattle-system",
        "knative-serving",
        "istio-system",
        "flux-system",
        "gke-managed-system",
    ],
)
def test_reserved_namespaces_are_refused(tmp_path: Path, namespace: str) -> None:
    assert diagnose(tmp_path, namespace) == ["K007"]


def test_the_namespace_argo_cd_runs_in_is_refused_whatever_it_is_called(tmp_path: Path) -> None:
    assert diagnose(tmp_path, "gitops", argocd="gitops") == ["K007"]
    assert diagnose(tmp_path, "argocd", argocd="gitops") == ["K007"]


@pytest.mark.parametrize("namespace", ["llm-ops-dev", "team-kube", "defaults", "my-kube-system"])
def test_other_namespaces_are_fine(tmp_path: Path, namespace: str) -> None:
    assert diagnose(tmp_path, namespace) == []
