"""A small estate with a trained adapter: dev trains it from a base model and a dataset, and every
environment serves it on its base (the model comes from `_shared` and names the dev job)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.estate import run_cli, write_files

BASE_MODEL = """
    apiVersion: llmops.io/v1
    kind: Model
    metadata:
      name: support-model
    spec:
      version: "1.0"
      type: base
      storageUri: s3://models/support-model/1.0/
      metadata:
        architecture: transformer
        model_family: llama
        parameters: 1B
        preset: llama-3.2-1b
"""
DATASET = """
    apiVersion: llmops.io/v1
    kind: Dataset
    metadata:
      name: support-dataset
    spec:
      version: v1
      type: sft_pair
      storage_uri: s3://datasets/support-dataset/v1/
"""
JOB = """
    apiVersion: llmops.io/v1
    kind: TrainingJob
    metadata:
      name: support-sft
    spec:
      modelId: support-model@1.0
      datasetId: support-dataset@v1
      jobType: finetune
      trainJobSpec:
        finetuning_type: lora
        hyperparameters:
          learning_rate: 0.0002
      output:
        storageUri: s3://models/support-sft/1.0/
        model: support-sft@1.0
"""
ADAPTER = """
    apiVersion: llmops.io/v1
    kind: Model
    metadata:
      name: support-sft
    spec:
      version: "1.0"
      type: adapter
      baseModel: support-model@1.0
      trainedBy: dev/support-sft
      storageUri: s3://models/support-sft/1.0/
      metadata:
        architecture: transformer
        model_family: llama
"""
ENDPOINT = """
    apiVersion: llmops.io/v1
    kind: ServingEndpoint
    metadata:
      name: support-chat
    spec:
      modelId: support-model@1.0
      route: /llm-ops/v1/serve/support-chat
      useGpu: true
      adapters:
        - support-sft@1.0
      deploymentSpec:
        resources:
          gpus: 1
          gpu_memory_gb: 24
"""
SETTINGS = """
    apiVersion: llmops.io/v1
    kind: Environment
    metadata:
      name: {env}
    spec:
      kserve:
        version: "0.16"
"""
ENVIRONMENTS = ("dev", "stg")


def write_lineage_estate(root: Path, approve: bool = True) -> Path:
    write_files(
        root,
        {
            "environments/_shared/catalog/support-model.yaml": BASE_MODEL,
            "environments/_shared/catalog/support-dataset.yaml": DATASET,
            "environments/_shared/catalog/support-sft.yaml": ADAPTER,
            "environments/dev/training/support-sft.yaml": JOB,
            **{f"environments/{env}/serving/support-chat.yaml": ENDPOINT for env in ENVIRONMENTS},
            **{
                f"environments/{env}/environment.yaml": SETTINGS.format(env=env)
                for env in ENVIRONMENTS
            },
        },
    )
    if approve:
        for env in ENVIRONMENTS:
            for model in ("support-model@1.0", "support-sft@1.0"):
                done = run_cli(
                    "approve", model, str(root), "--env", env, "--by", "alice", "--role", "admin"
                )
                assert done.exit_code == 0, done.stdout + done.stderr
    return root
