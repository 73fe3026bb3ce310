"""Every rendered object passes llmops's conformance checker (llmops/conformance), built-in kinds
included.

CRD kinds are checked against the upstream KServe, Argo CD and Kubeflow Trainer CRDs vendored in
conformance/; built-in kinds with kubernetes-validate's strict schemas. Nothing is skipped.

Estates: the bundled one (every environment plus `_argocd`), a synthetic one (30 endpoints per
environment), and variants that reach the renderer's other branches: Kubeflow TrainJobs, a 2-GPU
endpoint with spare GPUs for a surge rollout, a fixed-size CPU embedding endpoint, a GPU training
Job, a proxy bearer-token Secret, and KServe 0.16's `Standard` mode.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from benchmarks.generate_estate import generate_estate
from compiler.emit.yaml_text import emit_stream
from compiler.render.estate import ARGOCD_GROUP, RenderedEstate, render_estate
from tests.helpers.conformance import conformance_failures
from tests.helpers.estate import copy_bundled_estate, validate, write_files


def render_checked(root: Path, env: str | None = None) -> RenderedEstate:
    result = validate(root, env)
    errors = [
        f"{d.span.file}:{d.span.line}: {d.code} {d.message}"
        for d in result.diagnostics
        if d.severity.value == "error"
    ]
    assert errors == []
    return render_estate(result.estate, include_argocd=env is None)


def assert_all_conformant(rendered: RenderedEstate) -> None:
    assert rendered.groups, "nothing was rendered"
    failures = {
        group: conformance_failures(emit_stream(objects))
        for group, objects in rendered.groups.items()
    }
    assert failures == {group: [] for group in rendered.groups}


def objects_of(rendered: RenderedEstate, group: str, kind: str) -> list[dict[str, Any]]:
    return [obj for obj in rendered.groups[group] if obj["kind"] == kind]


def test_bundled_estate_every_environment_and_argocd(tmp_path: Path) -> None:
    rendered = render_checked(copy_bundled_estate(tmp_path))
    assert list(rendered.groups) == ["dev", "prod", "stg", ARGOCD_GROUP]
    kinds = {obj["kind"] for objects in rendered.groups.values() for obj in objects}
    assert kinds == {
        "Namespace",
        "ConfigMap",
        "Service",
        "Deployment",
        "InferenceService",
        "Job",
        "Ingress",
        "AppProject",
        "Application",
    }
    assert_all_conformant(rendered)


def test_synthetic_estate_of_30_endpoints(tmp_path: Path) -> None:
    counts = generate_estate(tmp_path, endpoints=30)
    rendered = render_checked(tmp_path)
    assert sorted(counts.environments) == ["dev", "prod", "stg"]
    for env in counts.environments:
        assert len(objects_of(rendered, env, "InferenceService")) == 30
        assert len(objects_of(rendered, env, "Job")) == 30
    assert_all_conformant(rendered)


# -- variants
# -----------------------------------------------------------------------------------------


def _edit(root: Path, relative: str, change: Any) -> None:
    path = root / relative
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def _stg_trainjob_two_gpus(document: dict[str, Any]) -> None:
    spec = document["spec"]
    spec["training"] = {"backend": "trainjob"}
    spec["kserve"] = {"version": "0.16"}
    spec["gpu"]["spareGpus"] = 2
    spec["proxy"] = {"tokenSecretName": "llm-ops-proxy-token", "replicas": 3}
    spec["serviceAccountName"] = "model-storage"
    spec["gpu"]["tolerations"] = [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "pool", "operator": "Equal", "value": "a100"},
    ]


def _two_gpus(document: dict[str, Any]) -> None:
    document["spec"]["deploymentSpec"]["resources"]["gpus"] = 2


EMBEDDING_ENDPOINT = """\
    apiVersion: llmops.io/v1
    kind: ServingEndpoint
    metadata:
      name: embedder
    spec:
      modelId: example-base-model@1.0
      route: /llm-ops/v1/serve/embedder
      minReplicas: 1
      maxReplicas: 1
      allowedRoles: [search]
      deploymentSpec:
        serve_target: EMBEDDING
        resources: {gpus: 0, cpu: "2", memory: 20Gi}  # 7B in bf16, 8,192 tokens: 17.3 GiB (C006)
    """
GPU_TRAINING_JOB = """\
    apiVersion: llmops.io/v1
    kind: TrainingJob
    metadata:
      name: gpu-sft
    spec:
      modelId: example-base-model@1.0
      datasetId: customer-support-dataset@v1.0
      jobType: finetune
      useGpu: true
      image: registry.example.com/trainer:2.0
      command: [python, -m, train, "--config", /etc/llmops/training/job.json]
      resourceProfile: {cpuCores: 0.5, memory: 16Gi, maxDuration: 120}
      trainJobSpec:
        model_family: llama
        job_type: DPO
        dataset_type: instruction
        # full fine-tuning of 7B parameters needs 104-117 GiB, more than one GPU (C008)
        finetuning_type: lora
        resources: {gpus: 1}
        hyperparameters: {learning_rate: 1.0e-6, beta: 0.1, lora: true, scheduler: cosine}
        use_gpu: true
    """


@pytest.fixture(scope="module")
def variant(tmp_path_factory: pytest.TempPathFactory) -> RenderedEstate:
    root = copy_bundled_estate(tmp_path_factory.mktemp("variant"))
    _edit(root, "environments/stg/environment.yaml", _stg_trainjob_two_gpus)
    _edit(root, "environments/stg/serving/example-model.yaml", _two_gpus)
    training = (root / "environments/dev/training/customer-support-sft.yaml").read_text(
        encoding="utf-8"
    )
    write_files(
        root,
        {
            "environments/dev/serving/embedder.yaml": EMBEDDING_ENDPOINT,
            "environments/stg/training/customer-support-sft.yaml": training,
            "environments/prod/training/gpu-sft.yaml": GPU_TRAINING_JOB,
        },
    )
    return render_checked(root)


def test_variants_are_conformant(variant: RenderedEstate) -> None:
    assert_all_conformant(variant)


def test_trainjob_backend_renders_trainjobs_only(variant: RenderedEstate) -> None:
    trainjobs = objects_of(variant, "stg", "TrainJob")
    assert [obj["apiVersion"] for obj in trainjobs] == ["trainer.kubeflow.org/v1alpha1"]
    assert objects_of(variant, "stg", "Job") == []
    assert [obj["metadata"]["name"] for obj in objects_of(variant, "stg", "ConfigMap")] == [
        "llmops-proxy-config"
    ]
    trainer = trainjobs[0]["spec"]["trainer"]
    assert trainer["resourcesPerNode"]["requests"] == trainer["resourcesPerNode"]["limits"]
    assert conformance_failures(emit_stream(trainjobs)) == []


def test_two_gpu_endpoint_with_spare_gpus(variant: RenderedEstate) -> None:
    (isvc,) = objects_of(variant, "stg", "InferenceService")
    predictor = isvc["spec"]["predictor"]
    resources = predictor["model"]["resources"]
    assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"] == "2"
    assert "--tensor-parallel-size=2" in predictor["model"]["args"]
    assert predictor["deploymentStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"


def test_fixed_size_cpu_embedding_endpoint(variant: RenderedEstate) -> None:
    (isvc,) = [
        obj
        for obj in objects_of(variant, "dev", "InferenceService")
        if obj["metadata"]["name"] == "embedder"
    ]
    predictor = isvc["spec"]["predictor"]
    assert isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "none"
    assert "scaleMetric" not in predictor and "deploymentStrategy" not in predictor
    assert "--task=text_embedding" in predictor["model"]["args"]
    assert "--backend=huggingface" in predictor["model"]["args"]
    assert predictor["model"]["resources"]["limits"] == {"cpu": "2", "memory": "20Gi"}


def test_gpu_training_job(variant: RenderedEstate) -> None:
    (job,) = [
        obj
        for obj in objects_of(variant, "prod", "Job")
        if obj["metadata"]["name"].startswith("gpu-sft-")
    ]
    pod = job["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert pod["containers"][0]["resources"]["limits"] == {
        "cpu": "500m",
        "memory": "16Gi",
        "nvidia.com/gpu": "1",
    }
    assert job["spec"]["activeDeadlineSeconds"] == 7200


def test_proxy_token_secret(variant: RenderedEstate) -> None:
    (deployment,) = objects_of(variant, "stg", "Deployment")
    assert deployment["spec"]["replicas"] == 3
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["env"] == [
        {
            "name": "LLMOPS_PROXY_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": "llm-ops-proxy-token", "key": "token"}},
        }
    ]


def test_the_checker_really_fails_bad_objects() -> None:
    """The conformance gate is not vacuous: misspelt and mistyped fields fail, built-in kinds
    included."""
    bad = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": 1}},
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {"name": "i"},
            "spec": {"predictor": {"modelFromat": {}}},
        },
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "j"},
            "spec": {"templat": {}},
        },
    ]
    failures = conformance_failures(emit_stream(bad))
    assert failures == [
        "rendered.yaml:7:6: V002 ConfigMap c: data.k must be string or null, not integer 1",
        'rendered.yaml:15:5: V001 InferenceService i: unknown field "modelFromat" in '
        "spec.predictor",
        'rendered.yaml:22:3: V001 Job j: unknown field "templat" in spec',
        'rendered.yaml:22:3: V003 Job j: spec is missing the required field "template"',
    ]


def test_gpu_pods_tolerate_the_gpu_taints_and_use_the_storage_account(
    variant: RenderedEstate,
) -> None:
    isvc = objects_of(variant, "stg", "InferenceService")[0]["spec"]["predictor"]
    assert isvc["serviceAccountName"] == "model-storage"
    assert isvc["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "pool", "operator": "Equal", "value": "a100"},
    ]
    cpu_only = objects_of(variant, "dev", "InferenceService")[0]["spec"]["predictor"]
    assert "tolerations" not in cpu_only and "serviceAccountName" not in cpu_only
    assert conformance_failures(emit_stream(variant.groups["stg"])) == []
