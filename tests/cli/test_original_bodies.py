"""The original platform's own example, pasted as a new user would, validates: exit 0, and the
warnings say what to add.

A fresh `llmops init` estate gets the four request bodies of the original platform's workflow guide
verbatim as `spec` (JSON is YAML): dataset and model in `_shared`, the CPU-only training job and the
endpoint in dev. Only the guide's `{model_id}` and `{dataset_id}` placeholders (ids the old platform
assigned) are filled in, with the `name-version` references the same bodies use elsewhere. The
original platform approves with a status PATCH; here `llmops approve` writes the Approval.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.helpers.estate import PROJECT_ROOT, run_cli

ORIGINAL_BODIES = PROJECT_ROOT / "tests" / "fixtures" / "original_platform"
PLACEHOLDERS = {
    "{model_id}": "example-base-model-1.0",
    "{dataset_id}": "customer-support-dataset-v1.0",
}
# body -> (kind, metadata.name, folder in the estate); the file is named after metadata.name
PASTED = {
    "dataset.json": ("Dataset", "customer-support-dataset", "environments/_shared/catalog"),
    "model.json": ("Model", "example-base-model", "environments/_shared/catalog"),
    "training-job.json": ("TrainingJob", "customer-support-sft", "environments/dev/training"),
    "serving-endpoint.json": ("ServingEndpoint", "example-model", "environments/dev/serving"),
}

EXPECTED = """\
environments/dev/serving/example-model.yaml:23:29: warning[E004]: max_input_tokens + \
max_output_tokens = 4096 + \
1024 = 5120, more than Model/example-base-model@1.0's context of 4096 tokens (assuming the model \
is preset \
llama-2-7b, the only preset matching model_family llama and 7B parameters)  (context-exceeds-model)
 23 |         "max_input_tokens": 4096,
    |                             ^^^^
  hint: set max_input_tokens <= 3072; to state what llmops assumed, pin it with \
spec.metadata.preset: llama-2-7b, \
name another preset, or write the model's own context_length, num_layers, num_attention_heads, \
num_kv_heads and \
head_dim from its config.json
  note: environments/_shared/catalog/example-base-model.yaml:14:23: the model's context (preset \
llama-2-7b, assumed \
from model_family and parameters)

environments/dev/training/customer-support-sft.yaml:12:17: warning[C008]: full fine-tuning with \
AdamW of 7B \
parameters needs about 104.3-117.3 GiB (16-18 bytes per parameter, activations not counted) but \
the job has 8.00 GiB \
of memory (assuming full fine-tuning, as trainJobSpec.finetuning_type is not set)  \
(training-memory-insufficient)
 12 |       "memory": "8Gi",
    |                 ^^^^^
  hint: set trainJobSpec.finetuning_type: lora with resourceProfile.memory: 15Gi or set \
resourceProfile.memory: \
118Gi for full fine-tuning with AdamW; to state what llmops assumed, set \
trainJobSpec.finetuning_type: full or lora \
(QLoRA needs GPUs)
  note: environments/_shared/catalog/example-base-model.yaml:12:21: parameters

2 warnings (9 files, environments: dev, prod, stg)
"""


def pasted(root: Path, body: str) -> Path:
    _, name, folder = PASTED[body]
    return root / folder / f"{name}.yaml"


def paste_original_bodies(root: Path) -> None:
    for body, (kind, name, _) in PASTED.items():
        text = (ORIGINAL_BODIES / body).read_text(encoding="utf-8")
        for placeholder, reference in PLACEHOLDERS.items():
            text = text.replace(placeholder, reference)
        path = pasted(root, body)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"apiVersion: llmops.io/v1\nkind: {kind}\nmetadata:\n  name: {name}\nspec: {text}",
            encoding="utf-8",
        )


def test_the_four_original_bodies_validate_in_a_new_estate_with_warnings_saying_what_to_add(
    tmp_path: Path,
) -> None:
    root = tmp_path / "estate"
    assert run_cli("init", str(root)).exit_code == 0
    paste_original_bodies(root)
    approve = run_cli(
        "approve",
        "example-base-model@1.0",
        "--env",
        "dev",
        "--by",
        "admin",
        "--role",
        "admin",
        str(root),
    )
    assert approve.exit_code == 0, approve.stderr
    result = run_cli("validate", str(root))
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == EXPECTED


def test_following_the_warnings_hints_leaves_no_warning(tmp_path: Path) -> None:
    """Pin the preset and shorten the input (E004's hint), state LoRA with the memory it needs
    (C008's)."""
    root = tmp_path / "estate"
    assert run_cli("init", str(root)).exit_code == 0
    paste_original_bodies(root)
    model = pasted(root, "model.json")
    model.write_text(
        model.read_text(encoding="utf-8").replace(
            '"model_family": "llama",', '"model_family": "llama", "preset": "llama-2-7b",'
        ),
        encoding="utf-8",
    )
    endpoint = pasted(root, "serving-endpoint.json")
    endpoint.write_text(
        endpoint.read_text(encoding="utf-8").replace(
            '"max_input_tokens": 4096', '"max_input_tokens": 3072'
        ),
        encoding="utf-8",
    )
    job = pasted(root, "training-job.json")
    job.write_text(
        job.read_text(encoding="utf-8")
        .replace('"memory": "8Gi"', '"memory": "15Gi"')
        .replace('"job_type": "SFT",', '"job_type": "SFT", "finetuning_type": "lora",'),
        encoding="utf-8",
    )
    assert (
        run_cli(
            "approve",
            "example-base-model@1.0",
            "--env",
            "dev",
            "--by",
            "admin",
            "--role",
            "admin",
            str(root),
        ).exit_code
        == 0
    )
    result = run_cli("validate", str(root))
    assert (result.exit_code, result.stdout) == (
        0,
        "no problems (9 files, environments: dev, prod, stg)\n",
    )


def test_the_rendered_cpu_memory_is_what_the_model_needs(tmp_path: Path) -> None:
    """No resources.memory on the original platform' endpoint: 7B in float32 (26.60 GiB) + one
    5,120-token sequence of Llama 2 7B's KV cache in float32 (5.00 GiB) + 2.3 GiB runtime overhead =
    33.90 GiB
    -> 34Gi."""
    root = tmp_path / "estate"
    assert run_cli("init", str(root)).exit_code == 0
    paste_original_bodies(root)
    run_cli(
        "approve",
        "example-base-model@1.0",
        "--env",
        "dev",
        "--by",
        "admin",
        "--role",
        "admin",
        str(root),
    )
    rendered = run_cli("render", str(root), "--env", "dev")
    assert rendered.exit_code == 0, rendered.stderr
    (service,) = [
        document
        for document in yaml.safe_load_all(rendered.stdout)
        if document["kind"] == "InferenceService"
        and document["metadata"]["name"] == "example-model"
    ]
    assert service["spec"]["predictor"]["model"]["resources"] == {
        "requests": {"cpu": "4", "memory": "34Gi"},
        "limits": {"cpu": "4", "memory": "34Gi"},
    }
