"""Bad data, a bad request, an unusable model or storage: the trainer exits non-zero with one clear
line.

Each case runs the trainer's entry point from the rendered Job, as test_trainer.py does. The data is
read before torch is imported, so these refusals come within seconds, before any model is loaded.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from compiler.target.training_contract import HYPERPARAMETERS_FILE
from tests.train.contract import SAMPLE_CSV, estate, rendered_job, run_trainer

pytestmark = pytest.mark.slow
GOOD_HYPERPARAMETERS = {"learning_rate": 0.01, "max_steps": 2}


def _refusal(
    tmp_path: Path,
    *,
    data: dict[str, bytes] | None = None,
    dataset_uri: str | None = None,
    model_uri: str = "file:///nonexistent/model/",
    env: dict[str, str] | None = None,
    edit_hyperparameters: dict[str, Any] | None = None,
    **job: Any,
) -> str:
    """Run a job whose trainer must refuse it; the one line it printed on stderr."""
    folder = tmp_path / "dataset"
    folder.mkdir()
    for name, content in (data or {}).items():
        (folder / name).write_bytes(content)
    job.setdefault("hyperparameters", GOOD_HYPERPARAMETERS)
    root = estate(
        tmp_path / "estate",
        dataset_uri=dataset_uri or f"file://{folder}/",
        model_uri=model_uri,
        output_uri=f"file://{tmp_path}/output/",
        **job,
    )
    rendered = rendered_job(root)
    # what llmops validate would refuse, written into the mount by hand
    if edit_hyperparameters is not None:
        rendered.files[HYPERPARAMETERS_FILE] = json.dumps(edit_hyperparameters)
    result = run_trainer(rendered, tmp_path / "mount", extra_env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("llmops-train: error: "), result.stderr
    assert not (tmp_path / "output").exists()  # nothing half-written
    return lines[0].removeprefix("llmops-train: error: ")


def test_a_csv_without_the_columns_its_type_needs(tmp_path: Path) -> None:
    message = _refusal(
        tmp_path, data={"faq.csv": b"question,answer\nWhere is my order?,On its way.\n"}
    )
    assert message == (
        f"file://{tmp_path}/dataset/faq.csv:2: column `instruction` missing: a `sft_pair` dataset "
        "read as instruction needs instruction, output; found: question, answer"
    )


def test_an_empty_file(tmp_path: Path) -> None:
    assert (
        _refusal(tmp_path, data={"train.csv": b""})
        == f"file://{tmp_path}/dataset/train.csv: empty file"
    )


def test_a_header_without_rows(tmp_path: Path) -> None:
    message = _refusal(tmp_path, data={"train.csv": b"instruction,input,output\n"})
    assert (
        message == f"file://{tmp_path}/dataset/train.csv: no records (only a header or blank lines)"
    )


def test_text_that_is_not_utf8(tmp_path: Path) -> None:
    message = _refusal(
        tmp_path, data={"train.csv": "instruction,output\nCafé,Crème\n".encode("latin-1")}
    )
    assert message == (
        f"file://{tmp_path}/dataset/train.csv:2: not UTF-8 text (byte 0xe9 at offset 22); "
        "save the file as UTF-8"
    )


def test_an_empty_answer(tmp_path: Path) -> None:
    message = _refusal(tmp_path, data={"train.csv": b"instruction,output\nSay hi,hi\nSay bye,\n"})
    assert message == f"file://{tmp_path}/dataset/train.csv:3: `output` is empty"


def test_a_chat_line_with_an_unknown_role(tmp_path: Path) -> None:
    lines = [
        {
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"},
            ]
        },
        {
            "messages": [
                {"role": "customer", "content": "hi"},
                {"role": "assistant", "content": "hello"},
            ]
        },
    ]
    data = "\n".join(json.dumps(line) for line in lines).encode()
    message = _refusal(tmp_path, data={"chat.jsonl": data}, dataset_type="chat", read_as="chat")
    assert message == (
        f"file://{tmp_path}/dataset/chat.jsonl:2: messages[0].role must be one of system, user, "
        "assistant, not 'customer'"
    )


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (b'{"text": ' + b"9" * 5000 + b"}", "an integer of 5000 digits"),
        (b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested more than 100 levels"),
        (b'{"text": NaN}', "`NaN` is not a JSON number"),
    ],
)
def test_a_record_json_readers_disagree_on(tmp_path: Path, record: bytes, expected: str) -> None:
    data = b'{"instruction": "a", "output": "b"}\n' + record + b"\n"
    message = _refusal(tmp_path, data={"train.jsonl": data})
    assert message.startswith(f"file://{tmp_path}/dataset/train.jsonl:2: "), message
    assert expected in message, message


def test_a_folder_without_data_files(tmp_path: Path) -> None:
    message = _refusal(tmp_path, data={"README.md": b"# notes\n"})
    assert message == (
        f"file://{tmp_path}/dataset/: no dataset file (.csv, .jsonl or .json) found; "
        "it holds: README.md"
    )


def test_a_dataset_uri_where_nothing_is(tmp_path: Path) -> None:
    message = _refusal(tmp_path, dataset_uri=f"file://{tmp_path}/no-such-dataset/")
    assert message == f"file://{tmp_path}/no-such-dataset/: not found (nothing exists at this URI)"


def test_a_dataset_uri_no_filesystem_reads(tmp_path: Path) -> None:
    message = _refusal(tmp_path, dataset_uri="nosuchscheme://bucket/data/")
    assert message.startswith("nosuchscheme://bucket/data/: this trainer cannot open such a URI")


def test_a_misspelt_hyperparameter(tmp_path: Path) -> None:
    """`llmops validate` refuses it first (M010, the same check); the trainer refuses a
    hand-edited file too."""
    message = _refusal(
        tmp_path,
        data={"train.csv": SAMPLE_CSV.read_bytes()},
        edit_hyperparameters={"learnig_rate": 0.01},
    )
    assert message == (
        "hyperparameter `learnig_rate` is not one this trainer honours; did you mean "
        "`learning_rate`?"
    )


def test_a_hyperparameter_of_the_wrong_type(tmp_path: Path) -> None:
    """`llmops validate` refuses it first (S003); the trainer refuses a hand-edited file too."""
    data = {"train.csv": SAMPLE_CSV.read_bytes()}
    message = _refusal(tmp_path, data=data, edit_hyperparameters={"batch_size": "4"})
    assert message == "hyperparameter `batch_size` must be a whole number, not '4'"


def test_dpo_is_refused_up_front(tmp_path: Path) -> None:
    message = _refusal(
        tmp_path,
        data={"pairs.jsonl": b'{"prompt": "p", "chosen": "a", "rejected": "b"}\n'},
        dataset_type="preference",
        read_as="preference",
        job_type="DPO",
    )
    assert message.startswith(
        "job_type DPO is not supported by llmops-train (it runs SFT and PRETRAIN)"
    )


def test_qlora_on_a_cpu_only_job(tmp_path: Path) -> None:
    message = _refusal(
        tmp_path, data={"train.csv": SAMPLE_CSV.read_bytes()}, finetuning_type="qlora"
    )
    assert message.startswith(
        "finetuning_type qlora quantizes the base model to 4 bits with bitsandbytes, which "
        "needs a CUDA GPU; this job has no GPU"
    )


def test_a_base_model_uri_without_a_model(tmp_path: Path) -> None:
    (tmp_path / "empty-model").mkdir()
    (tmp_path / "empty-model" / "weights.bin").write_bytes(b"\0")
    message = _refusal(
        tmp_path,
        data={"train.csv": SAMPLE_CSV.read_bytes()},
        model_uri=f"file://{tmp_path}/empty-model/",
    )
    assert message.startswith(
        f"file://{tmp_path}/empty-model/: no config.json: the base model's storageUri must "
        "hold a Hugging Face model folder"
    )


def test_an_architecture_transformers_does_not_know(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text(
        json.dumps({"model_type": "no-such-architecture", "hidden_size": 8}), encoding="utf-8"
    )
    message = _refusal(
        tmp_path, data={"train.csv": SAMPLE_CSV.read_bytes()}, model_uri=f"file://{model}/"
    )
    assert message.startswith(f"file://{model}/: transformers ")
    assert "cannot read its config.json" in message and "no-such-architecture" in message


def test_a_broken_contract_is_a_usage_error(tmp_path: Path) -> None:
    shutil.copy(SAMPLE_CSV, tmp_path / "train.csv")
    root = estate(
        tmp_path / "estate",
        dataset_uri=f"file://{tmp_path}/train.csv",
        model_uri="file:///nowhere/",
        output_uri=None,
        hyperparameters=GOOD_HYPERPARAMETERS,
    )
    job = rendered_job(root)
    del job.env["LLMOPS_TRAINING_CONFIG"]
    result = run_trainer(job, tmp_path / "mount")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "llmops-train: error: LLMOPS_TRAINING_CONFIG is not set: run the trainer from "
        "a Job that `llmops render` wrote (README: Training)"
    )
