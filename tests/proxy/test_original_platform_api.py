"""The proxy against the original platform's own serving examples, configured from the bundled
estate: their headers (`X-User-Roles: admin` or `researcher`), their write routes (answered with the
GitOps way), the catalog read routes, the endpoint fields as the manifests write them, and a serve
target that does not fit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.diagnostics import Severity
from compiler.render.proxy_config import environment_proxy_config
from llmops.proxy.backends import apply_overrides
from llmops.proxy.config import ProxyConfig
from llmops.proxy.config_source import config_from_estate
from llmops.proxy.options import ProxyOptions
from llmops.proxy.server import running_proxy
from tests.helpers.estate import PROJECT_ROOT, codes, copy_bundled_estate, validate
from tests.helpers.loopback import FakeModelServer, call, serving

# serving-examples.ko.md, sections 1, 2, 5, 6
PLATFORM_ADMIN = {"X-User-Id": "admin", "X-User-Roles": "admin"}
PLATFORM_RESEARCHER = {"X-User-Id": "user123", "X-User-Roles": "researcher"}  # section 3
# complete-workflow-guide.ko.md
GUIDE_USER = {"X-User-Id": "admin", "X-User-Roles": "admin,llm-ops-user"}
PLATFORM_CHAT = {
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "안녕하세요! LLM Ops 플랫폼에 대해 설명해주세요."},
    ],
    "temperature": 0.7,
    "max_tokens": 500,
}


def _set_proxy_setting(estate: Path, env: str, **values: Any) -> None:
    path = estate / "environments" / env / "environment.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["spec"].setdefault("proxy", {}).update(values)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


@pytest.fixture
def model_server() -> Iterator[FakeModelServer]:
    with serving(FakeModelServer()) as server:
        yield server


def _serve(config: ProxyConfig, server: FakeModelServer) -> Any:
    return running_proxy(
        apply_overrides(config, [f"example-model={server.url}"], {}), ProxyOptions()
    )


@pytest.fixture
def bundled(model_server: FakeModelServer) -> Iterator[str]:
    """The bundled dev estate's proxy, its example-model answered by a loopback model server."""
    with _serve(config_from_estate(str(PROJECT_ROOT), "dev"), model_server) as url:
        yield url


# --- the required role: an environment setting
# ---------------------------------------------------------


def test_the_default_refusal_names_the_setting_that_governs_it(bundled: str) -> None:
    reply = call(
        "POST",
        f"{bundled}/llm-ops/v1/serve/example-model/chat",
        PLATFORM_CHAT,
        headers=PLATFORM_RESEARCHER,
    )
    assert reply.status == 403
    # dev's environment.yaml writes no proxy.requiredRole: the message must not claim it does
    assert reply.json()["message"] == (
        "the role llm-ops-user is required (X-User-Roles: researcher); llm-ops-user is the "
        "default of the setting spec.proxy.requiredRole, which environments/dev/environment.yaml "
        "does not set. Send llm-ops-user in X-User-Roles, or set spec.proxy.requiredRole there "
        "to the role every caller holds, or to null to require no role"
    )
    assert (
        call(
            "POST",
            f"{bundled}/llm-ops/v1/serve/example-model/chat",
            PLATFORM_CHAT,
            headers=GUIDE_USER,
        ).status
        == 200
    )


def test_turning_the_required_role_off_admits_the_original_platform_headers(
    tmp_path: Path, model_server: FakeModelServer
) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    _set_proxy_setting(estate, "dev", requiredRole=None)
    config = config_from_estate(str(estate), "dev")
    assert config.access.required_role is None
    with _serve(config, model_server) as url:
        for headers in (PLATFORM_RESEARCHER, PLATFORM_ADMIN):
            reply = call(
                "POST", f"{url}/llm-ops/v1/serve/example-model/chat", PLATFORM_CHAT, headers=headers
            )
            assert reply.status == 200, reply.body
            assert reply.json()["data"]["choices"][0]["message"]["content"].startswith("system=")
            listed = call("GET", f"{url}/llm-ops/v1/serving/endpoints", headers=headers)
            assert listed.status == 200
        # the identity headers stay required
        assert call("GET", f"{url}/llm-ops/v1/serving/endpoints").status == 401


def test_another_required_role_is_carried_into_proxy_json(
    tmp_path: Path, model_server: FakeModelServer
) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    _set_proxy_setting(estate, "dev", requiredRole="admin")
    environment = next(e for e in validate(estate).estate.environments if e.name == "dev")
    assert environment_proxy_config(environment)["access"]["requiredRole"] == "admin"
    with _serve(config_from_estate(str(estate), "dev"), model_server) as url:
        assert (
            call("GET", f"{url}/llm-ops/v1/serving/endpoints", headers=PLATFORM_ADMIN).status == 200
        )
        refused = call("GET", f"{url}/llm-ops/v1/serving/endpoints", headers=PLATFORM_RESEARCHER)
        assert (refused.status, refused.json()["message"]) == (
            403,
            "the role admin is required (X-User-Roles: researcher); "
            "environments/dev/environment.yaml sets spec.proxy.requiredRole to admin. Send admin "
            "in X-User-Roles, or change spec.proxy.requiredRole there (null requires no role)",
        )


@pytest.mark.parametrize("role", ["", "llm-ops-user,admin", " admin", "llm ops", "역할"])
def test_a_role_no_header_can_carry_is_a_schema_error(tmp_path: Path, role: str) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    _set_proxy_setting(estate, "dev", requiredRole=role)
    found = [
        d
        for d in validate(estate, "dev").diagnostics
        if d.span.file.endswith("dev/environment.yaml") and d.severity is Severity.ERROR
    ]
    assert codes(found) == ["S005"], [(d.code, d.message) for d in found]
    assert found[0].path == ("spec", "proxy", "requiredRole")
    assert found[0].hint is not None and "without spaces or commas" in found[0].hint


# --- the original platform's write routes: the GitOps way
# -----------------------------------------------------------

WRITES = [
    (
        "POST",
        "/serving/endpoints",
        {"modelId": "x", "environment": "dev", "route": "/llm-ops/v1/serve/chat-model"},
        ["ServingEndpoint manifest in environments/dev/serving/", "commit and push"],
    ),
    (
        "POST",
        "/serving/endpoints/example-model/rollback",
        None,
        ["llmops rollback example-model --env dev", "llmops history example-model --env dev"],
    ),
    (
        "POST",
        "/serving/endpoints/550e8400-e29b-41d4-a716-446655440000/rollback",
        None,
        ["llmops rollback ENDPOINT --env dev"],
    ),
    (
        "DELETE",
        "/serving/endpoints/example-model",
        None,
        ["delete the ServingEndpoint manifest example-model"],
    ),
    (
        "PATCH",
        "/catalog/models/example-base-model-1.0/status",
        {"status": "approved"},
        ["llmops approve example-base-model-1.0 --env dev --by <user id> --role <role>"],
    ),
    (
        "POST",
        "/catalog/models",
        {"name": "example-base-model", "version": "1.0"},
        ["`spec` of a Model manifest"],
    ),
    (
        "POST",
        "/catalog/datasets",
        {"name": "customer-support-dataset"},
        ["`spec` of a Dataset manifest"],
    ),
    (
        "POST",
        "/catalog/datasets/customer-support-dataset@v1.0/upload",
        None,
        ["Dataset's `files`", "storage_uri"],
    ),
    (
        "POST",
        "/training/jobs",
        {"modelId": "x"},
        ["TrainingJob manifest in environments/dev/training/"],
    ),
    (
        "POST",
        "/prompts/experiments",
        {"templateAId": "a"},
        ["PromptExperiment manifest in environments/dev/"],
    ),
    (
        "POST",
        "/prompts/experiments/support-tone/conclude",
        {"winnerTemplateId": "support-concise"},
        ["set `winnerTemplateId` (and `notes`) in the PromptExperiment support-tone's manifest"],
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "says"), WRITES, ids=[f"{m} {p}" for m, p, _, _ in WRITES]
)
def test_the_original_platform_write_routes_name_the_gitops_way(
    bundled: str, method: str, path: str, body: Any, says: list[str]
) -> None:
    reply = call(method, f"{bundled}/llm-ops/v1{path}", body, headers=PLATFORM_ADMIN)
    assert reply.status == 405
    assert reply.headers["Content-Type"].startswith("application/json")
    document = reply.json()
    assert (document["status"], document["data"]) == ("error", None)
    for text in says:
        assert text in document["message"]
    assert "Allow" in reply.headers


SEGMENT = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="/?#%"),
    min_size=1,
    max_size=20,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["POST", "PUT", "PATCH", "DELETE"]),
    collection=st.sampled_from(
        [
            "serving/endpoints",
            "catalog/models",
            "catalog/datasets",
            "training/jobs",
            "prompts/experiments",
            "prompts/templates",
            "serving",
            "catalog",
        ]
    ),
    rest=st.lists(SEGMENT, max_size=3),
)
def test_every_write_under_the_platform_answers_in_the_envelope(
    bundled: str, method: str, collection: str, rest: list[str]
) -> None:
    path = "/".join([f"{bundled}/llm-ops/v1/{collection}", *rest])
    reply = call(method, path, {}, headers=PLATFORM_ADMIN)
    assert reply.status == 405, (path, reply.body)
    message = reply.json()["message"]
    assert "git" in message and "commit" in message


# --- the catalog's read routes, from the manifests
# -----------------------------------------------------


def test_catalog_reads_answer_from_the_manifests(bundled: str) -> None:
    def get(path: str) -> Any:
        reply = call("GET", f"{bundled}/llm-ops/v1{path}", headers=GUIDE_USER)
        assert reply.status == 200, (path, reply.body)
        return reply.json()["data"]

    (model,) = get("/catalog/models")
    assert (model["id"], model["name"], model["version"], model["type"]) == (
        "example-base-model@1.0",
        "example-base-model",
        "1.0",
        "base",
    )
    assert (
        model["metadata"]["parameters"] == "7B"
        and model["storageUri"] == "s3://models/example-base-model/1.0/"
    )
    # the manifest says draft; dev's Approval approves this exact manifest, as the original
    # platform's status PATCH did
    assert (model["status"], model["approvedBy"], model["requiredApprovals"]) == (
        "approved",
        ["admin"],
        1,
    )
    assert (
        get("/catalog/models/example-base-model-1.0")
        == model
        == get("/catalog/models/example-base-model@1.0")
    )
    (dataset,) = get("/catalog/datasets")
    assert (dataset["id"], dataset["type"], dataset["storage_uri"]) == (
        "customer-support-dataset@v1.0",
        "sft_pair",
        "s3://datasets/customer-support-dataset/v1.0/",
    )
    assert get("/catalog/datasets/customer-support-dataset-v1.0") == dataset
    (job,) = get("/training/jobs")
    assert (job["id"], job["jobType"], job["resourceProfile"]["memory"]) == (
        "customer-support-sft",
        "finetune",
        "16Gi",
    )
    assert job["trainJobSpec"]["hyperparameters"]["learning_rate"] == 2e-5
    assert get("/training/jobs/customer-support-sft") == job
    assert [e["id"] for e in get("/prompts/experiments")] == ["support-tone"]
    assert sorted(t["id"] for t in get("/prompts/templates")) == [
        "support-concise",
        "support-friendly",
    ]
    for path in (
        "/catalog/models/nope-1.0",
        "/catalog/datasets/nope",
        "/training/jobs/nope",
        "/prompts/templates/x",
    ):
        missing = call("GET", f"{bundled}/llm-ops/v1{path}", headers=GUIDE_USER)
        assert (missing.status, missing.json()["status"]) == (404, "error")
    # governed like the rest
    assert call("GET", f"{bundled}/llm-ops/v1/catalog/models").status == 401


def test_a_stale_approval_does_not_make_the_catalog_say_approved(tmp_path: Path) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    path = estate / "environments" / "_shared" / "catalog" / "example-base-model.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            '"description": "Example base model"', '"description": "edited after approval"'
        )
    )
    environment = next(e for e in validate(estate).estate.environments if e.name == "stg")
    # stg serves it, so the estate no longer validates; the catalog itself must still say the truth
    (model,) = environment_proxy_config(environment)["models"]
    assert (model["status"], model["approvedBy"]) == ("draft", [])


# --- the endpoint listing: fields as the manifests write them
# ------------------------------------------


def test_endpoint_listing_gives_model_id_as_written_and_the_original_platform_fields(
    bundled: str,
) -> None:
    (listed,) = call("GET", f"{bundled}/llm-ops/v1/serving/endpoints", headers=GUIDE_USER).json()[
        "data"
    ]
    # environments/dev/serving/example-model.yaml
    assert listed["modelId"] == "example-base-model-1.0"
    assert {
        "id",
        "modelId",
        "environment",
        "route",
        "status",
        "minReplicas",
        "maxReplicas",
        "createdAt",
    } <= set(listed)
    assert listed["createdAt"] is None  # no git history in the configuration (README: Proxy)
    for spelling in ("example-base-model-1.0", "example-base-model@1.0"):
        found = call(
            "GET", f"{bundled}/llm-ops/v1/serving/endpoints?modelId={spelling}", headers=GUIDE_USER
        )
        assert [e["id"] for e in found.json()["data"]] == ["example-model"]


# --- a serve target that does not fit the call
# ---------------------------------------------------------


def test_embeddings_on_a_generation_endpoint_is_refused_by_the_proxy(
    bundled: str, model_server: FakeModelServer
) -> None:
    platform = call(
        "POST",
        f"{bundled}/llm-ops/v1/serve/example-model/embeddings",
        {"input": "This is a text to embed", "model": "embedding-model-v1"},
        headers=GUIDE_USER,
    )
    assert platform.status == 400
    assert platform.json()["message"].startswith(
        "endpoint example-model serves GENERATION (its deploymentSpec.serve_target)"
    )
    client = openai.OpenAI(
        base_url=f"{bundled}/llm-ops/v1/serve/example-model/v1",
        api_key="unused",
        default_headers=GUIDE_USER,
        max_retries=0,
    )
    with pytest.raises(openai.BadRequestError, match="serve_target is EMBEDDING"):
        client.embeddings.create(model="example-model", input="text")
    assert model_server.requests == []  # refused before the model server


def test_chat_on_an_embedding_endpoint_is_refused_by_the_proxy(
    tmp_path: Path, model_server: FakeModelServer
) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    path = estate / "environments" / "dev" / "serving" / "example-model.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "serve_target: GENERATION", "serve_target: EMBEDDING"
        )
    )
    config = config_from_estate(str(estate), "dev")
    with _serve(config, model_server) as url:
        for path_ in ("chat", "completion", "v1/chat/completions", "v1/completions"):
            body = (
                {"prompt": "x"} if "completion" in path_ and "chat" not in path_ else PLATFORM_CHAT
            )
            reply = call(
                "POST", f"{url}/llm-ops/v1/serve/example-model/{path_}", body, headers=GUIDE_USER
            )
            assert reply.status == 400, path_
            assert "serves EMBEDDING" in reply.json()["message"]
        embedded = call(
            "POST",
            f"{url}/llm-ops/v1/serve/example-model/embeddings",
            {"input": "x"},
            headers=GUIDE_USER,
        )
        assert embedded.status == 200
    assert len(model_server.requests) == 1


def test_proxy_json_carries_the_catalog() -> None:
    environment = next(e for e in validate(PROJECT_ROOT).estate.environments if e.name == "prod")
    document = json.loads(json.dumps(environment_proxy_config(environment)))
    assert [m["id"] for m in document["models"]] == ["example-base-model@1.0"]
    assert document["trainingJobs"] == []  # prod trains nothing
    assert document["models"][0]["approvedBy"] == ["alice", "bob"]
