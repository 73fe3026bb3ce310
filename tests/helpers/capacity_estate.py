"""The small estate capacity tests share: one `stg` environment with its GPU settings, one model
`m@1.0`."""

from __future__ import annotations


def environment_and_model(
    gpu: str, metadata: str, model_file: str = "model.yaml"
) -> dict[str, str]:
    """Files for `write_files`: `gpu` and `metadata` are the inside of a flow mapping."""
    return {
        "environments/stg/environment.yaml": f"""
            apiVersion: llmops.io/v1
            kind: Environment
            metadata: {{name: stg}}
            spec:
              gpu: {{{gpu}}}
            """,
        f"environments/stg/{model_file}": f"""
            apiVersion: llmops.io/v1
            kind: Model
            metadata: {{name: m}}
            spec:
              version: "1.0"
              type: base
              storageUri: s3://models/m/1.0/
              metadata: {{{metadata}}}
            """,
    }
