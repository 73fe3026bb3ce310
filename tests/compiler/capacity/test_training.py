"""Training estimates against numbers worked out by hand.

7B parameters: full fine-tuning 7e9 x 16 = 112e9 bytes = 104.31 GiB to 7e9 x 18 = 126e9 bytes =
117.35 GiB; LoRA 7e9 x 2 = 13.04 GiB to 7e9 x 2.22 = 14.47 GiB; QLoRA 7e9 x 0.52 = 3.39 GiB to 7e9 x
0.74 = 4.82 GiB.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.capacity.serving import GIB
from compiler.capacity.training import training_capacity
from tests.helpers.capacity_estate import environment_and_model
from tests.helpers.estate import validate, write_files


def job_estate(
    root: Path,
    parameters: str,
    job_resources: str,
    profile: str = "",
    finetuning: str = "",
    environment: str = "memoryGiB: 80",
) -> Path:
    return write_files(
        root,
        {
            **environment_and_model(environment, f"parameters: {parameters}"),
            "environments/stg/dataset.yaml": """
            apiVersion: llmops.io/v1
            kind: Dataset
            metadata: {name: d}
            spec: {version: "1", type: sft_pair, storage_uri: "s3://datasets/d/1/"}
            """,
            "environments/stg/job.yaml": f"""
            apiVersion: llmops.io/v1
            kind: TrainingJob
            metadata: {{name: j}}
            spec:
              modelId: m@1.0
              datasetId: d@1
              jobType: finetune
              {profile}
              trainJobSpec:
                resources: {{{job_resources}}}
                {finetuning}
            """,
        },
    )


def codes_and_hints(root: Path) -> list[tuple[str, str | None]]:
    return [(d.code, d.hint) for d in validate(root).diagnostics if d.code.startswith("C")]


@pytest.mark.parametrize(
    ("finetuning", "low", "high"),
    [
        ("", 104.31, 117.35),
        ("finetuning_type: lora", 13.04, 14.47),
        ("finetuning_type: qlora", 3.39, 4.82),
    ],
)
def test_estimates_per_method(tmp_path: Path, finetuning: str, low: float, high: float) -> None:
    root = job_estate(tmp_path, "7B", "gpus: 1", finetuning=finetuning)
    env = validate(root).estate.environments[0]
    capacity = training_capacity(env, env.of_kind("TrainingJob")[0])
    assert capacity is not None and capacity.needed_bytes is not None
    assert [round(value / GIB, 2) for value in capacity.needed_bytes] == [low, high]


def test_full_fine_tuning_of_7b_on_one_80_gib_gpu_is_impossible(tmp_path: Path) -> None:
    """104.31 GiB > 80 GiB: an error; LoRA's 14.5 GiB fits, and 117.35 / 80 -> 2 GPUs."""
    root = job_estate(tmp_path, "7B", "gpus: 1", finetuning="finetuning_type: full")
    assert codes_and_hints(root) == [
        ("C008", "set trainJobSpec.finetuning_type: lora (about 14.5 GiB) or use 2 GPUs")
    ]
    assert [d.severity.value for d in validate(root).diagnostics if d.code == "C008"] == ["error"]


def test_an_unset_method_is_an_assumption_so_a_warning_that_says_how_to_state_it(
    tmp_path: Path,
) -> None:
    """Without finetuning_type llmops passes no method to the trainer: the full fine-tuning verdict
    is assumed."""
    root = job_estate(tmp_path, "7B", "gpus: 1")
    (diagnostic,) = [d for d in validate(root).diagnostics if d.code.startswith("C")]
    assert (diagnostic.code, diagnostic.severity.value) == ("C008", "warning")
    assert diagnostic.message.endswith(
        "but the job has 1 x 80 GiB GPU (assuming full fine-tuning, as "
        "trainJobSpec.finetuning_type is not set)"
    )
    assert diagnostic.hint == (
        "set trainJobSpec.finetuning_type: lora (about 14.5 GiB) or use 2 GPUs; to state what "
        "llmops assumed, set trainJobSpec.finetuning_type: full, lora or qlora"
    )


def test_two_gpus_share_the_state(tmp_path: Path) -> None:
    """2 x 80 = 160 GiB holds the 117.35 GiB of full fine-tuning."""
    assert codes_and_hints(job_estate(tmp_path, "7B", "gpus: 2")) == []


def test_marginal_is_a_warning(tmp_path: Path) -> None:
    """5B: 74.51-83.82 GiB against 80 GiB."""
    assert [code for code, _ in codes_and_hints(job_estate(tmp_path, "5B", "gpus: 1"))] == ["C009"]


def test_a_cpu_job_is_held_to_its_memory_and_never_told_to_use_qlora(tmp_path: Path) -> None:
    """LoRA of 7B on 8Gi: 13.04 GiB > 8 GiB; LoRA's 14.47 GiB needs 15Gi. QLoRA would fit in 4.8
    GiB, but its 4-bit weights need GPUs, so it is not offered."""
    root = job_estate(
        tmp_path,
        "7B",
        "gpus: 0",
        finetuning="finetuning_type: lora",
        profile="resourceProfile: {cpuCores: 4, memory: 8Gi, maxDuration: 60}",
    )
    assert codes_and_hints(root) == [("C008", "set resourceProfile.memory: 15Gi")]


def test_a_cpu_job_set_to_qlora_is_warned(tmp_path: Path) -> None:
    root = job_estate(
        tmp_path,
        "7B",
        "gpus: 0",
        finetuning="finetuning_type: qlora",
        profile="resourceProfile: {cpuCores: 4, memory: 8Gi, maxDuration: 60}",
    )
    (diagnostic,) = [d for d in validate(root).diagnostics if d.code.startswith("C")]
    assert (diagnostic.code, diagnostic.severity.value) == ("C010", "warning")
    assert diagnostic.path == ("spec", "trainJobSpec", "finetuning_type")
    assert diagnostic.hint == (
        "set finetuning_type: lora with resourceProfile.memory: 15Gi or more, or run the job "
        "on GPUs (trainJobSpec.resources.gpus >= 1)"
    )
    gpu = job_estate(tmp_path / "gpu", "7B", "gpus: 1", finetuning="finetuning_type: qlora")
    assert codes_and_hints(gpu) == []


def test_without_a_resource_profile_the_rendered_8gi_counts(tmp_path: Path) -> None:
    # 1.86-2.07 GiB
    root = job_estate(tmp_path, "1B", "gpus: 0", finetuning="finetuning_type: lora")
    assert codes_and_hints(root) == []
    root = job_estate(tmp_path / "big", "7B", "gpus: 0", finetuning="finetuning_type: lora")
    assert [code for code, _ in codes_and_hints(root)] == ["C008"]


def test_unknown_gpu_memory_is_reported_not_guessed(tmp_path: Path) -> None:
    root = job_estate(tmp_path, "7B", "gpus: 1", environment="allowed: true")
    diagnostics = [d for d in validate(root).diagnostics if d.code.startswith("C")]
    assert [(d.code, d.severity.value) for d in diagnostics] == [("C001", "info")]
    assert "memory of environment `stg`'s GPUs is not known" in diagnostics[0].message
