"""The proxy in front of an LLMInferenceService: it calls vLLM's OpenAI routes through KServe's
route, `<gateway>/<namespace>/<name>/v1/...`, as rendered from the estate (no override), with the
real `openai` client on the caller's side."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import openai
import yaml
from aiohttp import web

from llmops.proxy.config_source import config_from_estate
from llmops.proxy.options import ProxyOptions
from llmops.proxy.server import running_proxy
from tests.helpers.estate import PROJECT_ROOT
from tests.helpers.loopback import FakeModelServer, call, serving
from tests.proxy.conftest import USER

EXAMPLE = PROJECT_ROOT / "examples" / "llm_inference_service"
ROUTE_PREFIX = "/llm-ops-dev/support-chat"  # KServe's HTTPRoute: /<namespace>/<name>


@dataclass
class GatewayStandIn(FakeModelServer):
    """A Gateway with KServe's route for one LLMInferenceService: vLLM's routes below the
    route's prefix, and nothing anywhere else."""

    def app(self) -> web.Application:
        gateway = web.Application()
        gateway.add_subapp(ROUTE_PREFIX, super().app())
        return gateway

    async def _ready(self, request: web.Request) -> web.Response:
        return web.Response(status=200 if self.mode != "not_ready" else 503)


def _estate_behind(gateway_url: str, root: Path) -> Path:
    shutil.copytree(EXAMPLE / "environments", root / "environments")
    path = root / "environments" / "dev" / "environment.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["spec"]["kserve"]["llmInferenceService"] = {"gatewayUrl": gateway_url}
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return root


def test_requests_reach_vllm_through_the_route(tmp_path: Path) -> None:
    gateway = GatewayStandIn()
    with serving(gateway):
        config = config_from_estate(str(_estate_behind(gateway.url, tmp_path / "estate")), "dev")
        with running_proxy(config, ProxyOptions()) as url:
            client = openai.OpenAI(
                base_url=f"{url}/llm-ops/v1/serve/support-chat/v1",
                api_key="unused",
                default_headers=USER,
                max_retries=0,
            )
            question = [{"role": "user", "content": "Where is my parcel?"}]
            answer = client.chat.completions.create(model="support-chat", messages=question)
            adapted = client.chat.completions.create(model="support-sft", messages=question)
            listed = call("GET", f"{url}/llm-ops/v1/serving/endpoints", headers=USER).json()
    assert answer.choices[0].message.content
    # the served model name and the adapter's name reach vLLM, which answers to both
    assert [request["model"] for request in gateway.requests] == ["support-chat", "support-sft"]
    assert adapted.model == "support-sft"
    # readiness is vLLM's /health behind the same route
    (described,) = listed["data"]
    assert (described["status"], described["statusMessage"]) == ("healthy", None)
