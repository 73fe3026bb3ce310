"""The estate `llmops init` creates: dev, stg and prod that validate, and pass the approval audit,
from the first commit.

No Approvals and no endpoints: an approval must be committed by its approver, who must not be the
person who last changed the model (G001, G002), so one that llmops writes into the same first commit
as the model could never pass `llmops audit`. Ready endpoints wait in `environments/_examples/` (not
an environment: llmops does not read it) and `environments/README.md` says how to approve and serve.
"""

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
        "gpu": {
            "allowed": env != "dev",
            "required": production,
            **({"product": "A100-80GB"} if env != "dev" else {}),
        },
        "approval": {"roles": ["admin"], "minApprovers": 2 if production else 1},
        "kserve": {"version": "0.16"},
    }
    if production:
        spec["replicas"] = {"min": 2}
    return _manifest("Environment", env, spec)


def shared_manifests() -> dict[str, list[dict[str, Any]]]:
    """File (under environments/_shared/) -> documents."""
    model = _manifest(
        "Model",
        "my-model",
        {
            "version": "1.0",
            "type": "base",
            "ownerTeam": "my-team",
            "metadata": {
                "architecture": "transformer",
                "parameters": "8B",
                "framework": "pytorch",
                "model_family": "llama",
                "description": "Replace with your model",
                "context_length": 8192,
                "dtype": "bf16",
                "preset": "llama-3-8b",
            },
            "storageUri": "s3://models/my-model/1.0/",
            "status": "draft",
        },
    )
    return {"models/my-model.yaml": [model]}


def endpoint_manifest(env: str) -> dict[str, Any]:
    gpu = env != "dev"
    return _manifest(
        "ServingEndpoint",
        "my-model",
        {
            "modelId": "my-model@1.0",
            "environment": env,
            "route": "/llm-ops/v1/serve/my-model",
            "minReplicas": 2 if env == "prod" else 1,
            "maxReplicas": 4 if env == "prod" else 2,
            "autoscalePolicy": {"cpuUtilization": 70},
            "useGpu": gpu,
            "deploymentSpec": {
                "model_ref": "my-model@1.0",
                "model_family": "llama",
                "serve_target": "GENERATION",
                "resources": {"gpus": 1 if gpu else 0},
                "runtime": {
                    "max_concurrent_requests": 32,
                    "max_input_tokens": 4096,
                    "max_output_tokens": 1024,
                },
                "use_gpu": gpu,
            },
        },
    )


EXAMPLES_DIR = "_examples"  # under environments/: a folder starting with `_` is not an environment


def example_endpoint_file(env: str) -> str:
    """Where init leaves the example endpoint of ``env``, relative to environments/."""
    return f"{EXAMPLES_DIR}/{env}/serving/my-model.yaml"


README = """\
# This estate

Created by `llmops init`. Every `*.yaml` below `environments/<env>/` (and `_shared/`, which every
environment gets) is what that environment deploys; `llmops validate` checks it and `llmops render`
shows the Kubernetes objects it becomes.

- `_shared/models/my-model.yaml`: a Model. Replace it with yours: its `parameters`, `dtype` and
  `preset` size the capacity checks (`llmops explain ENDPOINT --env ENV` shows the arithmetic).
- `dev|stg|prod/environment.yaml`: settings and policy. dev is CPU-only; stg and prod have A100-80GB
  GPUs; prod needs two approvers and two replicas.
- `_examples/`: ready endpoints serving `my-model`, one per environment. llmops does not read this
  folder (a folder starting with `_`, other than `_shared`, is not an environment).

## Why there are no approvals yet, and how to serve the model

An endpoint may only serve a model approved for its environment (P001). The approval audit
(`llmops audit`) accepts an approval only when its approver committed it (G001) and is not the
person who last changed the model (G002): four eyes. An approval written by llmops into the same
first commit as the model could never pass, so this estate starts without any, and without
endpoints, and both `llmops validate` and `llmops audit` pass on its first commit.

1. Put your model in `_shared/models/my-model.yaml` and commit.
2. Add the endpoint: `cp -r environments/_examples/dev/serving environments/dev/` (the same for
   stg and prod).
3. An approver, someone other than the last author of the model, runs
   `llmops approve my-model@1.0 --env dev --by THEIR-USER --role admin` and commits the file it
   writes as themselves (THEIR-USER is the name or e-mail local part of their git identity, or list
   their addresses under `approval.identities` in environment.yaml). prod needs two approvers.
4. `llmops validate && llmops audit`, then open a pull request.

## Deploying with Argo CD

`llmops render -o out` writes `out/_argocd/` (an AppProject and one Application per environment,
which run the llmops plugin) only for environments whose environment.yaml names the repository Argo
CD reads:

```yaml
spec:
  argocd:
    repoURL: https://git.example.com/you/this-estate.git
```

Until then it renders the environments' objects alone.
"""
