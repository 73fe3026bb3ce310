"""The trainer's checks that need no model: the request it is given, its hyperparameters, the
records it reads.

These run in the compiler's own virtualenv (the modules import neither torch nor fsspec at import
time).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from compiler.target.training_contract import HYPERPARAMETER_NAMES, HYPERPARAMETERS
from llmops.train.cpus import cpu_limit, torch_threads
from llmops.train.errors import ContractError, TrainerError
from llmops.train.hyperparameters import (
    FULL_LEARNING_RATE,
    LORA_LEARNING_RATE,
    resolve_hyperparameters,
)
from llmops.train.records import parse_file
from llmops.train.request import read_request
from tests.helpers.estate import PROJECT_ROOT

JOB = {
    "job": "support-sft",
    "jobType": "finetune",
    "method": "SFT",
    "baseModel": {"id": "tiny@1", "storageUri": "s3://models/tiny/1/", "family": "llama"},
    "dataset": {
        "id": "support@v1",
        "storageUri": "s3://datasets/support/v1/",
        "type": "sft_pair",
        "readAs": "instruction",
    },
    "hyperparameters": {"learning_rate": 0.001},
    "output": {"storageUri": "s3://models/out/"},
    "gpus": 0,
}


def test_every_documented_hyperparameter_reaches_the_settings() -> None:
    """The contract's table and the trainer's settings list the same names: none documented and
    ignored."""
    settings = resolve_hyperparameters({}, adapters=True).as_json()
    assert set(settings) == set(HYPERPARAMETER_NAMES)
    given = {
        "learning_rate": 0.5,
        "batch_size": 3,
        "num_epochs": 2,
        "max_steps": 9,
        "gradient_accumulation_steps": 2,
        "warmup_ratio": 0.1,
        "warmup_steps": 4,
        "lr_scheduler_type": "cosine",
        "weight_decay": 0.01,
        "max_grad_norm": 0.5,
        "max_seq_length": 64,
        "seed": 3,
        "logging_steps": 2,
        "train_on_prompt": True,
        "gradient_checkpointing": True,
        "lora_r": 4,
        "lora_alpha": 8,
        "lora_dropout": 0.1,
        "lora_target_modules": "q_proj, v_proj",
    }
    assert set(given) == {parameter.name for parameter in HYPERPARAMETERS}
    settings = resolve_hyperparameters(given, adapters=True).as_json()
    assert settings == {
        **given,
        "num_epochs": 2.0,
        "lora_alpha": 8.0,
        "lora_target_modules": ["q_proj", "v_proj"],
    }
    assert resolve_hyperparameters(given, adapters=True).warmup == 4  # steps win over the ratio


def test_the_default_learning_rate_depends_on_what_trains() -> None:
    assert resolve_hyperparameters({}, adapters=True).learning_rate == LORA_LEARNING_RATE
    assert resolve_hyperparameters({}, adapters=False).learning_rate == FULL_LEARNING_RATE
    assert (
        resolve_hyperparameters({"num_epochs": 2.0, "batch_size": 4.0}, adapters=False).batch_size
        == 4
    )
    assert resolve_hyperparameters({"max_steps": -1}, adapters=False).max_steps is None


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            {"epochs": 3},
            "hyperparameter `epochs` is not one this trainer honours; did you mean `num_epochs`?",
        ),
        ({"batch_size": True}, "hyperparameter `batch_size` must be a whole number, not True"),
        ({"train_on_prompt": 1}, "hyperparameter `train_on_prompt` must be true or false, not 1"),
        ({"batch_size": 2.5}, "hyperparameter `batch_size` must be a whole number, not 2.5"),
        ({"learning_rate": 0}, "hyperparameter `learning_rate` must be above 0, not 0"),
        ({"batch_size": 0}, "hyperparameter `batch_size` must be at least 1, not 0"),
        ({"max_steps": 0}, "hyperparameter `max_steps` must be at least 1, not 0"),
        ({"warmup_ratio": 1.5}, "hyperparameter `warmup_ratio` must be below 1, not 1.5"),
        (
            {"lr_scheduler_type": "exp"},
            "hyperparameter `lr_scheduler_type` must be one of linear, cosine, "
            "cosine_with_restarts, polynomial, constant, constant_with_warmup, inverse_sqrt, "
            "not 'exp'",
        ),
        ({"lora_target_modules": " , "}, "hyperparameter `lora_target_modules` names no module"),
    ],
)
def test_bad_hyperparameters_are_refused_by_name(given: dict[str, object], message: str) -> None:
    with pytest.raises(TrainerError) as refused:
        resolve_hyperparameters(given, adapters=True)
    assert str(refused.value) == message


def test_csv_quoting_a_byte_order_mark_and_blank_lines() -> None:
    data = '\ufeffinstruction,output\n"Say ""hi""","hi,\nthere"\n\n'.encode()
    (record,) = parse_file("a.csv", data, "s3://d/a.csv")
    assert (
        record.values == {"instruction": 'Say "hi"', "output": "hi,\nthere"}
        and record.source == "s3://d/a.csv:3"
    )


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "a.jsonl",
            b'{"text": "ok"}\n{"text": \n',
            "s3://d/x:2: not valid JSON: Expecting value (column 10)",
        ),
        ("a.jsonl", b'["text"]\n', "s3://d/x:1: each line must be a JSON object, found list"),
        (
            "a.json",
            b'{"text": "ok"}',
            "s3://d/x: a .json dataset file must be a list of objects (or use .jsonl)",
        ),
        ("a.csv", b"instruction,output\na,b,c\n", "s3://d/x:2: 3 fields where the header has 2"),
        ("a.csv", b"  \n", "s3://d/x: empty file"),
    ],
)
def test_unreadable_records_name_their_line(name: str, data: bytes, message: str) -> None:
    with pytest.raises(TrainerError) as refused:
        parse_file(name, data, "s3://d/x")
    assert str(refused.value) == message


def test_the_trainjob_form_of_the_contract_needs_no_mount() -> None:
    request = read_request(
        {"LLMOPS_TRAINING_CONFIG_JSON": json.dumps(JOB), "LLMOPS_TRAINING_METHOD": "SFT"}
    )
    assert (request.output_uri, request.hyperparameters, request.dataset_read_as) == (
        "s3://models/out/",
        {"learning_rate": 0.001},
        "instruction",
    )


def test_a_variable_that_disagrees_with_job_json_is_refused(tmp_path: Path) -> None:
    (tmp_path / "job.json").write_text(json.dumps(JOB), encoding="utf-8")
    environ = {
        "LLMOPS_TRAINING_CONFIG": str(tmp_path / "job.json"),
        "LLMOPS_DATASET_URI": "s3://elsewhere/",
    }
    with pytest.raises(ContractError) as refused:
        read_request(environ)
    assert str(refused.value).startswith("LLMOPS_DATASET_URI=s3://elsewhere/ disagrees with ")
    (tmp_path / "job.json").write_text("{", encoding="utf-8")
    with pytest.raises(ContractError, match=r"job\.json: not valid JSON"):
        read_request({"LLMOPS_TRAINING_CONFIG": str(tmp_path / "job.json")})


def test_the_readme_documents_every_hyperparameter_with_its_default() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for parameter in HYPERPARAMETERS:
        default = (
            "—"
            if parameter.default is None
            else (
                str(parameter.default).lower()
                if isinstance(parameter.default, bool)
                else f"`{parameter.default}`"
            )
        )
        assert f"| `{parameter.name}` | {default} | {parameter.meaning} |" in readme, parameter.name


@pytest.mark.parametrize(
    ("files", "limit"),
    [
        ({"cpu.max": "400000 100000\n"}, 4),
        ({"cpu.max": "150000 100000\n"}, 2),  # 1.5 CPUs: two threads, not one idle half
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "200000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 2),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({}, None),
    ],
)
def test_torch_gets_the_containers_cpus_not_the_nodes(
    tmp_path: Path, files: dict[str, str], limit: int | None
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="ascii")
    assert cpu_limit(tmp_path) == limit
    usable = len(os.sched_getaffinity(0))
    assert torch_threads({}, tmp_path) == (min(usable, limit) if limit else usable)
    assert torch_threads({"OMP_NUM_THREADS": "3"}, tmp_path) is None


DEEP_RECORD = b'{"messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
HOSTILE_RECORDS = {
    "a 5,000-digit integer": (b'{"n": ' + b"9" * 5000 + b"}", "an integer of 5000 digits"),
    "a negative 5,000-digit integer": (b'{"n": -' + b"1" * 5000 + b"}", "5000 digits"),
    "deep nesting": (DEEP_RECORD, "arrays and objects nested more than"),
    "NaN": (b'{"text": "NaN", "n": NaN}', "`NaN` is not a JSON number"),
    "Infinity": (b'{"n": Infinity}', "`Infinity` is not a JSON number"),
    "-Infinity": (b'{"n": -Infinity}', "`-Infinity` is not a JSON number"),
    "1e999": (b'{"n": 1e999}', "the number 1e999 is too large for a double"),
    "a lone surrogate": (b'{"text": "\\ud800"}', "lone UTF-16 surrogate"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_RECORDS))
@pytest.mark.parametrize("layout", ["jsonl", "json"])
def test_records_json_readers_disagree_on_are_one_line_with_the_line(
    case: str, layout: str
) -> None:
    """A record no JSON reader reads the same way is refused at its line (the third of the file),
    never a RecursionError or ValueError traceback, never read as a float no JSON has."""
    record, expected = HOSTILE_RECORDS[case]
    good = b'{"text": "ok"}'
    if layout == "jsonl":
        data = good + b"\n" + good + b"\n" + record + b"\n"
    else:
        data = b"[" + good + b",\n" + good + b",\n" + record + b"\n]"
    with pytest.raises(TrainerError) as refused:
        parse_file(f"a.{layout}", data, "s3://d/x")
    message = str(refused.value)
    assert "\n" not in message and expected in message, message
    if case != "a lone surrogate" or layout == "jsonl":  # a parsed .json value has no line
        assert message.startswith("s3://d/x:3: "), message


def test_a_line_separator_inside_a_jsonl_string_is_text() -> None:
    """JSON allows U+2028 raw in strings: a JSONL line is split at line feeds only."""
    (record,) = parse_file("a.jsonl", '{"text": "a\u2028b"}\n'.encode(), "s3://d/x")
    assert record.values == {"text": "a\u2028b"}


def test_the_trainer_and_validate_agree_on_how_deep_a_record_may_nest() -> None:
    from compiler.check.dataset_files import MAX_RECORD_DEPTH as VALIDATE_DEPTH
    from llmops.train.records import MAX_RECORD_DEPTH

    assert MAX_RECORD_DEPTH == VALIDATE_DEPTH


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"job": ' + "[" * 50_000 + "]" * 50_000 + "}", "nested more than 64 levels deep"),
        ('{"gpus": ' + "1" * 5000 + "}", "an integer of 5000 digits"),
        ('{"gpus": NaN}', "`NaN` is not a JSON number"),
    ],
)
def test_a_hostile_job_json_is_a_contract_error(text: str, expected: str) -> None:
    with pytest.raises(ContractError) as refused:
        read_request({"LLMOPS_TRAINING_CONFIG_JSON": text, "LLMOPS_TRAINING_METHOD": "SFT"})
    assert expected in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_the_trainer_explains_itself_and_takes_no_arguments(flag: str) -> None:
    """`llmops-train --help` says what the trainer reads and how it exits, without a Job; any other
    argument is refused (exit 2) rather than ignored."""
    import subprocess
    import sys

    from compiler.target.training_contract import ENV_TRAINING_CONFIG, ENV_TRAINING_CONFIG_JSON

    script = "from llmops.train.main import entrypoint; entrypoint()"
    env = {key: value for key, value in os.environ.items() if not key.startswith("LLMOPS_")}
    env["PYTHONPATH"] = str(PROJECT_ROOT)

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", script, *argv]
        return subprocess.run(command, env=env, capture_output=True, text=True, check=False)

    helped = run(flag)
    assert helped.returncode == 0 and helped.stderr == ""
    assert helped.stdout.startswith("usage: llmops-train\n")
    assert ENV_TRAINING_CONFIG in helped.stdout and ENV_TRAINING_CONFIG_JSON in helped.stdout
    assert "exit codes: 0 trained and written" in helped.stdout
    refused = run("--epochs", "3")
    assert refused.returncode == 2 and refused.stdout == ""
    assert "takes no arguments (got '--epochs')" in refused.stderr
