"""The estate `llmops init` creates: dev, stg and prod that validate from the first commit."""

from __future__ import annotations

from typing import Any

from compiler.spec.base import API_VERSION

ENVIRONMENTS = ("dev", "stg", "prod")


def _manifest(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}, "spec": spec}


def environment_manifest(env: str) -> dict[str, Any]:
    production = env == "prod"
    spec: dict[str, Any] = {
        "namespace": f"llm-ops-{env}",
        "ingress": {"host": f"{env}.llm-ops.local", "className": "nginx"},
        "gpu": {"allowed": env != "dev", "required": production, **({"product": "A100-80GB"} if env != "dev" else {})},
        "approval": {"roles": ["admin"], "minApprovers": 2 if production else 1},
        "kserve": {"version": "0.16"},
    }
    if production:
        spec["replicas"] = {"min": 2}
    return _manifest("Environment", env, spec)


def shared_manifests() -> dict[str, list[dict[str, Any]]]:
    """File (under environments/_shared/) -> documents."""
    model = _manifest("Model", "my-model", {
        "version": "1.0", "type": "base", "ownerTeam": "my-team",
        "metadata": {"architecture": "transformer", "parameters": "7B", "framework": "pytorch",
                     "model_family": "llama", "description": "Replace with your model", "context_length": 8192,
                     "dtype": "bf16", "preset": "llama-3-8b"},
        "storageUri": "s3://models/my-model/1.0/", "status": "draft"})
    return {"models/my-model.yaml": [model]}


def endpoint_manifest(env: str) -> dict[str, Any]:
    gpu = env != "dev"
    return _manifest("ServingEndpoint", "my-model", {
        "modelId": "my-model@1.0", "environment": env, "route": "/llm-ops/v1/serve/my-model",
        "minReplicas": 2 if env == "prod" else 1, "maxReplicas": 4 if env == "prod" else 2,
        "autoscalePolicy": {"cpuUtilization": 70}, "useGpu": gpu,
        "deploymentSpec": {"model_ref": "my-model@1.0", "model_family": "llama", "serve_target": "GENERATION",
                           "resources": {"gpus": 1 if gpu else 0},
                           "runtime": {"max_concurrent_requests": 32, "max_input_tokens": 4096,
                                       "max_output_tokens": 1024},
                           "use_gpu": gpu}})


def approvers(env: str) -> list[str]:
    return ["platform-admin", "second-admin"] if env == "prod" else ["platform-admin"]
