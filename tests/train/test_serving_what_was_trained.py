"""Dataset -> training job -> model -> endpoint, for real, on CPU: the trainer fine-tunes the tiny
Llama on the sample CSV, the Model the job produces is served by a KServe ModelServer
(examples/sandbox/huggingface_model.py, .venv-serve) started with exactly the arguments the rendered
InferenceService gives its container, `llmops proxy` stands in front, and the `openai` client's
answer is the trained weights' greedy answer (computed apart with transformers), not an echo and
not the base model's.

What a cluster supplies is stood in for, and only that: KServe's storage initializer copies the
storageUri to /mnt/models (here `--model_dir` names the trainer's output folder), the runtime's
`--model_name={{.Name}}` comes first, and the pod's port 8080 becomes a free loopback port.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml

from compiler.render.estate import render_estate
from llmops.proxy.backends import apply_overrides
from llmops.proxy.config_source import config_from_estate
from llmops.proxy.options import ProxyOptions
from llmops.proxy.server import running_proxy
from tests.helpers.estate import PROJECT_ROOT, run_cli, validate, write_files
from tests.helpers.loopback import call, free_port, wait_until
from tests.train.contract import TRAIN_PYTHON, estate, rendered_job, run_trainer

pytestmark = pytest.mark.slow

SERVE_PYTHON = PROJECT_ROOT / ".venv-serve" / "bin" / "python"
MODEL_SERVER = PROJECT_ROOT / "examples" / "sandbox" / "huggingface_model.py"
GENERATE_REPLY = Path(__file__).with_name("generate_reply.py")
ENDPOINT = "support-chat"
QUESTION = (
    "Track an order\n\nWhere is order 10423?"  # a row of the sample CSV, as training wrote it
)
MAX_TOKENS = 24
USER = {"X-User-Id": "mina", "X-User-Roles": "llm-ops-user"}


def ensure_serve_venv() -> Path:
    """`make serve-venv` is idempotent: it installs only when the virtualenv is missing or its lock
    changed."""
    subprocess.run(["make", "-s", "serve-venv"], cwd=PROJECT_ROOT, check=True, timeout=1800)
    return SERVE_PYTHON


def _manifest(kind: str, name: str, spec: dict[str, Any]) -> str:
    return yaml.safe_dump(
        {"apiVersion": "llmops.io/v1", "kind": kind, "metadata": {"name": name}, "spec": spec},
        sort_keys=False,
    )


@dataclass
class Trained:
    root: Path  # the estate
    base: Path  # the base model's folder
    output: Path  # the trainer's output folder (the fine-tuned Model's storageUri)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> Trained:
    """The estate a team commits: dataset, base model, a full fine-tuning job, the Model it
    produces and an endpoint serving it; the trainer has run."""
    tmp = tmp_path_factory.mktemp("trained")
    data = tmp / "store" / "datasets" / "support" / "v1"
    data.mkdir(parents=True)
    (data / "customer-support-sample.csv").write_bytes(
        (PROJECT_ROOT / "examples" / "datasets" / "customer-support-sample.csv").read_bytes()
    )
    output = tmp / "store" / "models" / "support-sft" / "1"
    root = estate(
        tmp / "estate",
        dataset_uri=f"file://{data}/",
        model_uri=f"file://{tiny_model}/",
        output_uri=f"file://{output}/",
        finetuning_type="full",
        hyperparameters={"learning_rate": 0.005, "batch_size": 4, "max_steps": 40, "seed": 7},
    )
    job_path = root / "environments/dev/training/support-sft.yaml"
    job = yaml.safe_load(job_path.read_text(encoding="utf-8"))
    job["spec"]["output"]["model"] = "support-sft@1"
    job_path.write_text(yaml.safe_dump(job, sort_keys=False), encoding="utf-8")
    write_files(
        root,
        {
            "environments/dev/catalog/support-sft.yaml": _manifest(
                "Model",
                "support-sft",
                {
                    "version": "1",
                    "type": "fine-tuned",
                    "baseModel": "tiny-llama@1",
                    "trainedBy": "dev/support-sft",
                    "storageUri": f"file://{output}/",
                    "metadata": {
                        "parameters": "200K",
                        "model_family": "llama",
                        "context_length": 512,
                    },
                },
            ),
            "environments/dev/serving/support-chat.yaml": _manifest(
                "ServingEndpoint",
                ENDPOINT,
                {
                    "modelId": "support-sft@1",
                    "route": f"/llm-ops/v1/serve/{ENDPOINT}",
                    "useGpu": False,
                    "deploymentSpec": {
                        "serve_target": "GENERATION",
                        "resources": {"gpus": 0, "cpu": "2", "memory": "2Gi"},
                        "runtime": {
                            "max_concurrent_requests": 4,
                            "max_input_tokens": 384,
                            "max_output_tokens": 128,
                        },
                    },
                },
            ),
        },
    )
    approval = run_cli(
        "approve", "support-sft@1", str(root), "--env", "dev", "--by", "alice", "--role", "admin"
    )
    assert approval.exit_code == 0, approval.stderr
    result = run_trainer(rendered_job(root), tmp / "mount")
    assert result.returncode == 0, result.stdout + result.stderr
    return Trained(root, tiny_model, output)


def container_args(root: Path) -> list[str]:
    """The rendered InferenceService's `args` for the endpoint, after checking what else the pod
    would get: KServe's Hugging Face runtime, the trainer's output as storageUri."""
    result = validate(root, "dev")
    errors = [d for d in result.diagnostics if d.severity.value == "error"]
    assert errors == [], [f"{d.code} {d.message}" for d in errors]
    objects = render_estate(result.estate).groups["dev"]
    (service,) = [obj for obj in objects if obj["kind"] == "InferenceService"]
    model = service["spec"]["predictor"]["model"]
    assert model["runtime"] == "kserve-huggingfaceserver"
    assert model["modelFormat"] == {"name": "huggingface"}
    args: list[str] = model["args"]
    return args


@pytest.fixture(scope="module")
def served(
    trained: Trained, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, list[str]]]:
    args = container_args(trained.root)
    python = ensure_serve_venv()
    port = free_port()
    command = [
        str(python),
        str(MODEL_SERVER),
        f"--model_name={ENDPOINT}-predictor",  # the runtime's --model_name={{.Name}}: args win
        *args,
        f"--model_dir={trained.output}",  # /mnt/models, where the storageUri would be copied
        f"--http_port={port}",  # the pod's 8080
    ]
    log = tmp_path_factory.mktemp("serve") / "server.log"
    with log.open("w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if process.poll() is not None:
            return True
        try:
            return call("GET", f"{url}/v1/models/{ENDPOINT}", timeout=1).status == 200
        except OSError:
            return False

    try:
        assert wait_until(ready, timeout=120, interval=0.2), "the model server did not start"
        assert process.poll() is None, log.read_text()
        yield url, args
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    # KServe 0.14.1 logs the stack of every request it answers 400 (InvalidInput); nothing else
    written = log.read_text()
    assert written.count("Traceback") == written.count("kserve.errors.InvalidInput: "), written


@pytest.fixture(scope="module")
def proxy_url(trained: Trained, served: tuple[str, list[str]]) -> Iterator[str]:
    config = apply_overrides(
        config_from_estate(str(trained.root), "dev"), [f"{ENDPOINT}={served[0]}"], {}
    )
    with running_proxy(config, ProxyOptions()) as url:
        yield url


@pytest.fixture(scope="module")
def references(trained: Trained) -> dict[str, str]:
    """The greedy replies of the trained weights and of the base's, from transformers directly."""
    result = subprocess.run(
        [
            str(TRAIN_PYTHON),
            str(GENERATE_REPLY),
            str(trained.output),
            QUESTION,
            str(MAX_TOKENS),
            str(trained.output),
            str(trained.base),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    trained_reply, base_reply = json.loads(result.stdout.splitlines()[-1])
    return {"trained": trained_reply["reply"], "base": base_reply["reply"]}


def client(proxy_url: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{proxy_url}/llm-ops/v1/serve/{ENDPOINT}/v1",
        api_key="unused",
        default_headers=USER,
        max_retries=0,
    )


def test_the_container_gets_the_cpu_runtime_arguments(served: tuple[str, list[str]]) -> None:
    assert served[1] == [
        f"--model_name={ENDPOINT}",
        "--backend=huggingface",
        "--max_model_len=512",
    ]


def test_the_openai_client_gets_the_trained_weights_answer_through_the_proxy(
    references: dict[str, str], proxy_url: str
) -> None:
    answer = client(proxy_url).chat.completions.create(
        model=ENDPOINT,
        messages=[{"role": "user", "content": QUESTION}],
        max_tokens=MAX_TOKENS,
        temperature=0,
    )
    text = answer.choices[0].message.content
    assert text == references["trained"] and text.strip() != ""
    assert text != references["base"], "the base model answers the same: training had no effect"
    assert QUESTION not in text and "echo" not in text
    assert answer.model == ENDPOINT
    assert answer.usage is not None and answer.usage.completion_tokens == MAX_TOKENS  # no EOS yet
    # trained on the sample's answer to this question ("Order 10423 left our warehouse ..."): a
    # few steps on a tiny model bring back its first word, which the random base never writes
    assert "Order" in text and "Order" not in references["base"], (text, references)


def test_a_stream_arrives_in_pieces_that_make_the_same_answer(
    references: dict[str, str], proxy_url: str
) -> None:
    stream = client(proxy_url).chat.completions.create(
        model=ENDPOINT,
        messages=[{"role": "user", "content": QUESTION}],
        max_tokens=MAX_TOKENS,
        temperature=0,
        stream=True,
    )
    pieces = [
        chunk.choices[0].delta.content
        for chunk in stream
        if chunk.choices and chunk.choices[0].delta.content
    ]
    assert len(pieces) > 1
    assert "".join(pieces) == references["trained"]


def test_a_prompt_longer_than_max_model_len_is_refused_by_the_server(
    served: tuple[str, list[str]],
) -> None:
    body = {"model": ENDPOINT, "prompt": "order " * 600, "max_tokens": 4}
    reply = call("POST", f"{served[0]}/openai/v1/completions", body)
    assert reply.status == 400 and "--max_model_len" in reply.body.decode(), reply.body
