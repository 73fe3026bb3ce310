"""proxy.json: what the estate renders, how the proxy reads it, and local backend overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.errors import LlmopsError
from compiler.render.estate import render_environment
from compiler.render.proxy_config import environment_proxy_config
from llmops.proxy.backends import apply_overrides, health_url, openai_base, override_env_name
from llmops.proxy.config_source import EstateHasErrors, config_from_estate, config_from_file
from tests.helpers.estate import PROJECT_ROOT, validate, write_files
from tests.proxy.conftest import config_of, document, endpoint, experiment


@pytest.mark.parametrize("env", ["dev", "stg", "prod"])
def test_in_process_config_is_the_rendered_configmap(env: str) -> None:
    result = validate(PROJECT_ROOT, env)
    environment = next(e for e in result.estate.environments if e.name == env)
    config_map = next(
        o
        for o in render_environment(environment)
        if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "llmops-proxy-config"
    )
    assert json.loads(config_map["data"]["proxy.json"]) == environment_proxy_config(environment)


def test_bundled_dev_estate_configures_the_example_endpoint() -> None:
    config = config_from_estate(str(PROJECT_ROOT), "dev")
    (example,) = config.endpoints
    assert (example.name, example.route_name, example.model_id) == (
        "example-model",
        "example-model",
        # as written
        "example-base-model-1.0",
    )
    assert (
        openai_base(example.backend)
        == "http://example-model-predictor.llm-ops-dev.svc.cluster.local/openai/v1"
    )
    assert example.limits is not None and example.limits.max_output_tokens == 1024
    assert [e.id for e in config.experiments if e.is_running] == ["support-tone"]


def test_config_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "proxy.json"
    path.write_text(json.dumps(document(endpoint("chat", "http://127.0.0.1:1"))), encoding="utf-8")
    assert config_from_file(str(path)).endpoints[0].name == "chat"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "proxy.json:1:2: not valid JSON"),
        ("[]", "must be a JSON object"),
        ('{"version": 2, "environment": "dev"}', "version 2 is not supported"),
        ('{"version": 1}', "environment: Field required"),
        (
            '{"version": 1, "environment": "dev", "endpoints": [{"name": "x"}]}',
            "endpoints.0.route: Field required",
        ),
    ],
)
def test_bad_config_files_are_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "proxy.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LlmopsError) as raised:
        config_from_file(str(path))
    assert message in raised.value.message


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(LlmopsError, match="no such file"):
        config_from_file(str(tmp_path / "absent.json"))


def test_experiment_naming_an_unknown_template_is_refused() -> None:
    doc = document(endpoint("chat", "http://127.0.0.1:1"), experiments=[experiment("chat")])
    doc["templates"] = doc["templates"][:1]
    with pytest.raises(LlmopsError, match="names template 'warm'"):
        config_of(doc)


def test_estate_with_errors_prints_diagnostics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_files(tmp_path, {"environments/dev/bad.yaml": "apiVersion: llmops.io/v1\nkind: Nope\n"})
    with pytest.raises(EstateHasErrors):
        config_from_estate(str(tmp_path), "dev")
    assert "S006" in capsys.readouterr().err


def test_overrides_from_flags_and_environment() -> None:
    config = config_of(
        document(
            endpoint("chat-model", "http://in-cluster"), endpoint("embed", "http://in-cluster-2")
        )
    )
    assert override_env_name("chat-model") == "LLMOPS_PROXY_BACKEND_CHAT_MODEL"
    environ = {
        "LLMOPS_PROXY_BACKEND_CHAT_MODEL": "http://127.0.0.1:9000",
        "LLMOPS_PROXY_BACKEND_EMBED": "http://x:1",
    }
    changed = apply_overrides(config, ["embed=http://127.0.0.1:9001/v1"], environ)
    chat, embed = changed.endpoints
    # a root keeps KServe's routes
    assert openai_base(chat.backend) == "http://127.0.0.1:9000/openai/v1"
    assert chat.backend.api == "kserve-openai"
    assert health_url(chat.backend) == "http://127.0.0.1:9000/v1/models/chat-model-served"
    assert (embed.backend.api, openai_base(embed.backend)) == (
        "vllm-openai",
        "http://127.0.0.1:9001/v1",
    )
    assert health_url(embed.backend) == "http://127.0.0.1:9001/health"
    kserve = (
        apply_overrides(config, ["embed=http://127.0.0.1:9001/openai/v1"], {}).endpoints[1].backend
    )
    assert (kserve.api, openai_base(kserve)) == ("kserve-openai", "http://127.0.0.1:9001/openai/v1")


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("nope=http://127.0.0.1:1", "not an endpoint of dev"),
        ("chat", "is not NAME=URL"),
        ("chat=ftp://x", "not an http(s) URL"),
        ("chat=http://127.0.0.1:1/somewhere", "has a path the proxy does not know"),
    ],
)
def test_bad_overrides(flag: str, message: str) -> None:
    config = config_of(document(endpoint("chat", "http://in-cluster")))
    with pytest.raises(LlmopsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        apply_overrides(config, [flag], {})
