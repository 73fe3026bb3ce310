"""LoRA adapters through the proxy: configured from an estate whose endpoint serves an adapter, the
OpenAI `model` field selects the adapter or the base, and the endpoint listing shows them."""

from __future__ import annotations

from pathlib import Path

import openai

from llmops.proxy.backends import apply_overrides
from llmops.proxy.config_source import config_from_estate
from llmops.proxy.options import ProxyOptions
from llmops.proxy.server import running_proxy
from tests.helpers.lineage_estate import write_lineage_estate
from tests.helpers.loopback import FakeModelServer, call, serving
from tests.proxy.conftest import USER


def test_the_model_field_selects_an_adapter_and_the_listing_shows_it(tmp_path: Path) -> None:
    root = write_lineage_estate(tmp_path)
    server = FakeModelServer()
    with serving(server):
        config = apply_overrides(
            config_from_estate(str(root), "dev"), [f"support-chat={server.url}"], {}
        )
        with running_proxy(config, ProxyOptions()) as url:
            client = openai.OpenAI(
                base_url=f"{url}/llm-ops/v1/serve/support-chat/v1",
                api_key="unused",
                default_headers=USER,
                max_retries=0,
            )
            question = [{"role": "user", "content": "Where is my parcel?"}]
            adapted = client.chat.completions.create(model="support-sft", messages=question)
            base = client.chat.completions.create(model="anything-else", messages=question)
            listed = call("GET", f"{url}/llm-ops/v1/serving/endpoints", headers=USER).json()
    # the adapter's name reaches the model server; any other name means the base model
    assert [request["model"] for request in server.requests] == ["support-sft", "support-chat"]
    assert (adapted.model, base.model) == ("support-sft", "support-chat")
    (described,) = listed["data"]
    assert described["adapters"] == [
        {"name": "support-sft", "model": {"name": "support-sft", "version": "1.0"}}
    ]
