"""The proxy in front of a real KServe ModelServer (kserve 0.14.1, in its own virtualenv) serving
the deterministic sandbox model, configured from the bundled dev estate, used through the original
platform's API and the official `openai` client (whole answers and streams)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from llmops.proxy.backends import apply_overrides
from llmops.proxy.config_source import config_from_estate
from llmops.proxy.experiments import assign_variant, render_template
from llmops.proxy.options import ProxyOptions
from llmops.proxy.server import running_proxy
from tests.helpers.estate import PROJECT_ROOT
from tests.helpers.loopback import call, free_port, wait_until

pytestmark = pytest.mark.slow

KSERVE_PYTHON = PROJECT_ROOT / ".venv-kserve" / "bin" / "python"
ECHO_MODEL = PROJECT_ROOT / "examples" / "sandbox" / "echo_model.py"
TOKEN_DELAY = 0.05
USER = {"X-User-Id": "admin", "X-User-Roles": "admin,llm-ops-user"}
QUESTION = "Hello! Can you help me?"


def ensure_kserve_venv() -> Path:
    """`make kserve-venv` is idempotent: it installs only when the venv is missing or its pins
    changed."""
    subprocess.run(["make", "-s", "kserve-venv"], cwd=PROJECT_ROOT, check=True, timeout=900)
    return KSERVE_PYTHON


@pytest.fixture(scope="module")
def kserve_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    python = ensure_kserve_venv()
    port = free_port()
    log = tmp_path_factory.mktemp("kserve") / "server.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [
                str(python),
                str(ECHO_MODEL),
                "--model_name",
                "example-model",
                "--http_port",
                str(port),
                "--token_delay",
                str(TOKEN_DELAY),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
        )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if process.poll() is not None:
            return True
        try:
            return call("GET", f"{url}/v1/models/example-model", timeout=1).status == 200
        except OSError:
            return False

    try:
        assert wait_until(ready, timeout=90, interval=0.2), "the KServe model server did not start"
        assert process.poll() is None, log.read_text()
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert "Traceback" not in log.read_text(), log.read_text()


@pytest.fixture(scope="module")
def proxy_url(kserve_model: str) -> Iterator[str]:
    config = apply_overrides(
        config_from_estate(str(PROJECT_ROOT), "dev"), [f"example-model={kserve_model}"], {}
    )
    with running_proxy(config, ProxyOptions()) as url:
        yield url


def system_line(user: str) -> str:
    """The first line of the template the dev estate's experiment gives this user."""
    config = config_from_estate(str(PROJECT_ROOT), "dev")
    (experiment,) = config.experiments
    variant = assign_variant(experiment, user)
    template_id = experiment.template_a_id if variant == "A" else experiment.template_b_id
    template = next(t for t in config.templates if t.name == template_id)
    return render_template(template).splitlines()[0]


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{url}/llm-ops/v1/serve/example-model/v1",
        api_key="unused",
        default_headers=USER,
        max_retries=0,
    )


def test_original_platform_chat_test_step(proxy_url: str) -> None:
    """Step 6 of the original platform's workflow, verbatim."""
    body = {
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": QUESTION},
        ],
        "temperature": 0.7,
        "max_tokens": 500,
    }
    reply = call("POST", f"{proxy_url}/llm-ops/v1/serve/example-model/chat", body, headers=USER)
    assert reply.status == 200, reply.body
    result = reply.json()
    assert result["status"] == "success"
    assert (
        result["data"]["choices"][0]["message"]["content"]
        == f"(system: {system_line('admin')}) echo: {QUESTION}"
    )
    assert result["data"]["model"] == "example-model"


def test_original_platform_completion(proxy_url: str) -> None:
    body = {"prompt": "LLM Ops 플랫폼은", "temperature": 0.7, "max_tokens": 200, "stop": ["\n\n"]}
    reply = call(
        "POST", f"{proxy_url}/llm-ops/v1/serve/example-model/completion", body, headers=USER
    )
    assert reply.status == 200, reply.body
    text = reply.json()["data"]["choices"][0]["text"]
    assert text.startswith(f"echo: {system_line('admin').split()[0]}")
    assert text.endswith("LLM Ops 플랫폼은")


def test_openai_client_whole_answer(proxy_url: str) -> None:
    answer = client(proxy_url).chat.completions.create(
        model="example-model", messages=[{"role": "user", "content": QUESTION}], max_tokens=3
    )
    assert answer.choices[0].message.content == "(system: You are"
    assert answer.choices[0].finish_reason == "length"
    assert answer.usage is not None and answer.usage.completion_tokens == 3


def test_openai_client_stream_arrives_piece_by_piece(proxy_url: str) -> None:
    arrivals: list[tuple[float, str]] = []
    stream = client(proxy_url).chat.completions.create(
        model="example-model", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append((time.monotonic(), chunk.choices[0].delta.content))
    text = "".join(piece for _, piece in arrivals)
    assert text == f"(system: {system_line('admin')}) echo: {QUESTION}"
    # one word every TOKEN_DELAY s at the model: relayed as generated, not after the whole answer
    assert arrivals[-1][0] - arrivals[0][0] >= (len(arrivals) - 1) * TOKEN_DELAY * 0.5


def test_openai_client_completion_stream_and_models(proxy_url: str) -> None:
    openai_client = client(proxy_url)
    pieces = [
        choice.text
        for chunk in openai_client.completions.create(
            model="example-model", prompt="ping", max_tokens=2, stream=True
        )
        for choice in chunk.choices
    ]
    assert "".join(pieces) == "echo: " + system_line("admin").split()[0]
    assert [model.id for model in openai_client.models.list()] == ["example-model"]


def test_health_listing_and_experiment_stats(proxy_url: str) -> None:
    health = call("GET", f"{proxy_url}/llm-ops/v1/serve/example-model/health").json()
    assert (health["status"], health["model"]) == (
        "healthy",
        {"name": "example-base-model", "version": "1.0"},
    )
    listed = call(
        "GET",
        f"{proxy_url}/llm-ops/v1/serving/endpoints?environment=dev&status=healthy",
        headers=USER,
    ).json()["data"]
    assert [e["id"] for e in listed] == ["example-model"]

    def counted() -> tuple[int, int]:
        variants = call(
            "GET", f"{proxy_url}/llm-ops/v1/prompts/experiments/support-tone", headers=USER
        ).json()["data"]["variants"]
        return (
            variants["A"]["requests"] + variants["B"]["requests"],
            variants["A"]["errors"] + variants["B"]["errors"],
        )

    before = counted()
    for _ in range(4):  # of its own: the test passes alone, not only after the others
        client(proxy_url).chat.completions.create(
            model="example-model", messages=[{"role": "user", "content": QUESTION}]
        )
    served, errors = counted()
    assert (served - before[0], errors - before[1]) == (4, 0)


def test_max_tokens_over_the_dev_limit_is_refused(proxy_url: str) -> None:
    with pytest.raises(openai.BadRequestError, match="max_output_tokens of 1024"):
        client(proxy_url).chat.completions.create(
            model="example-model", max_tokens=2000, messages=[{"role": "user", "content": "hi"}]
        )


def test_embeddings_on_the_generation_endpoint_name_its_serve_target(proxy_url: str) -> None:
    """KServe's own answer would be a bare 404 ("Error code: 404" in the openai client)."""
    with pytest.raises(
        openai.BadRequestError,
        match=r"endpoint example-model serves GENERATION .*serve_target is "
        "EMBEDDING",
    ):
        client(proxy_url).embeddings.create(model="example-model", input="This is a text to embed")


def test_non_finite_numbers_never_reach_the_model_server(proxy_url: str) -> None:
    chat = f"{proxy_url}/llm-ops/v1/serve/example-model/chat"
    poisoned = (
        b'{"messages": [{"role": "user", "content": "hi"}], "temperature": NaN, "max_tokens": 2}'
    )
    for _ in range(3):
        assert call("POST", chat, poisoned, headers=USER).status == 400
    body = {"messages": [{"role": "user", "content": QUESTION}], "max_tokens": 2}
    statuses = [call("POST", chat, body, headers=USER).status for _ in range(10)]
    assert statuses == [200] * 10
