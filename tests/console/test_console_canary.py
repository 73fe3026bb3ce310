"""The console shows an endpoint's canary: a row with its own verdict on the overview (as `llmops
status` has it), its model, weight, replicas and per-variant figures on the endpoint's page, and
the split next to the A/B experiments.

Over real HTTP on 127.0.0.1: examples/canary's prod, two model servers answering differently, a
stand-in Kubernetes API where the endpoint is healthy and its canary's rollout failed.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from llmops.console.pages import console_from_estate
from llmops.proxy.backends import apply_overrides
from llmops.proxy.canary import apply_canary_overrides
from llmops.proxy.config_source import config_from_estate
from llmops.proxy.options import ProxyOptions
from llmops.proxy.server import running_proxy
from tests.helpers import live_objects as live
from tests.helpers.estate import PROJECT_ROOT
from tests.helpers.kube_api import KubeApiServer
from tests.helpers.loopback import call, serving, wait_until
from tests.proxy.test_canary import VersionedServer
from tests.status.conftest import Rendered

pytestmark = pytest.mark.slow
USER = {"X-User-Id": "ops", "X-User-Roles": "llm-ops-user"}
CHAT = "/llm-ops/v1/serve/example-model/v1/chat/completions"
USERS = 60


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, int]]]:
    """The prod proxy with its console after USERS users chatted once each; and how many the
    stable model and the canary answered."""
    work = tmp_path_factory.mktemp("canary-console")
    estate = work / "estate"
    shutil.copytree(PROJECT_ROOT / "examples/canary/environments", estate / "environments")
    services = {
        obj["metadata"]["name"]: obj
        for obj in Rendered(estate).objects
        if obj["kind"] == "InferenceService"
        and obj["metadata"]["labels"]["llmops.io/environment"] == "prod"
    }
    with pytest.MonkeyPatch.context() as patch, KubeApiServer().running() as cluster:
        cluster.put(live.ready_isvc(services["example-model"]))
        cluster.put(live.failing_isvc(services["example-model-canary"]))
        patch.setenv("KUBECONFIG", str(cluster.write_kubeconfig(work / "kubeconfig")))
        patch.setenv("HOME", str(work))
        with (
            serving(VersionedServer(version="1.0")) as stable,
            serving(VersionedServer(version="1.1")) as canary,
        ):
            config = config_from_estate(str(estate), "prod")
            flags = (f"example-model={stable.url}", f"example-model-canary={canary.url}")
            config, rest = apply_canary_overrides(config, flags, {})
            config = apply_overrides(config, rest)
            served = console_from_estate(estate, "prod")
            with running_proxy(config, ProxyOptions(), console=served) as url:
                answers = {"1.0": 0, "1.1": 0}
                for number in range(USERS):
                    body = {"messages": [{"role": "user", "content": "hi"}]}
                    headers = {**USER, "X-User-Id": f"user-{number}"}
                    reply = call("POST", url + CHAT, body, headers=headers)
                    assert reply.status == 200, reply.body
                    answers[reply.json()["choices"][0]["message"]["content"][5:]] += 1
                assert answers["1.1"] > 0 and answers["1.0"] > 0, answers
                read = lambda: "being read" not in page(url, "/console/env/prod")  # noqa: E731
                assert wait_until(read, 30, 0.2)
                yield url, answers


def page(url: str, path: str) -> str:
    reply = call("GET", url + path, headers=USER)
    assert reply.status == 200, reply.body
    return reply.body.decode()


def variant_rows(html: str) -> dict[str, list[str]]:
    """Each variant's cells in a split's table: model, weight, requests, errors, ..."""
    rows = re.findall(r'<tr data-variant="(\w+)"><th scope="row">\w+</th>(.*?)</tr>', html, re.S)
    return {name: re.findall(r"<td[^>]*>(.*?)</td>", cells) for name, cells in rows}


def test_the_overview_has_the_canary_row_with_its_own_verdict(
    console: tuple[str, Any],
) -> None:
    url, _ = console
    html = page(url, "/console/env/prod")
    rows = re.findall(
        r"<tr( class=\"canary\")?>\s*<td><a [^>]*>([^<]+)</a></td>(.*?)</tr>", html, re.S
    )
    by_name = {name: (cells, marked) for marked, name, cells in rows}
    assert list(by_name) == ["example-model", "example-model (canary)"]
    stable, canary = by_name["example-model"][0], by_name["example-model (canary)"][0]
    assert ">Healthy<" in stable and "example-base-model@1.0" in stable
    assert ">Degraded<" in canary and "example-base-model@1.1" in canary
    assert "10% of users" in canary
    assert "PredictorReady" in canary  # the reason, as `llmops status` words it


def test_the_endpoint_page_shows_its_canary_and_each_variants_figures(
    console: tuple[str, dict[str, int]],
) -> None:
    url, answers = console
    html = page(url, "/console/env/prod/endpoints/example-model")
    section = html[html.index('<h2 id="canary">') :]
    assert "example-base-model@1.1" in section and "10% of users" in section
    assert re.search(r"<dt>Replicas</dt><dd>1–1</dd>", section)
    assert re.search(r'<span class="verdict Degraded">Degraded</span> [^<]*PredictorReady', section)
    cells = variant_rows(section)
    assert cells["stable"][:3] == ["example-base-model@1.0", "90%", str(answers["1.0"])]
    assert cells["canary"][:3] == ["example-base-model@1.1", "10%", str(answers["1.1"])]
    assert cells["canary"][3] == "0"  # errors
    assert cells["canary"][5].endswith(" ms")  # mean latency
    assert 'aria-label="requests per variant of example-model"' in section


def test_the_experiments_page_shows_the_split_next_to_the_a_b_experiments(
    console: tuple[str, dict[str, int]],
) -> None:
    url, answers = console
    html = page(url, "/console/experiments")
    section = html[html.index('<h2 id="canaries">') :]
    assert "example-model" in section and "canary example-base-model@1.1" in section
    cells = variant_rows(section)
    assert cells["stable"][2] == str(answers["1.0"])
    assert cells["canary"][2] == str(answers["1.1"])
    assert section.count("<svg") == 2  # requests and mean latency
    assert f"{answers['1.1']}</text>" in section  # the canary's bar is labelled with its count


def test_the_endpoint_page_refreshes_each_variants_figures_in_the_browser(
    console: tuple[str, dict[str, int]], chromium: Any
) -> None:
    from playwright.sync_api import expect

    url, answers = console
    page = chromium.new_context(extra_http_headers=USER).new_page()
    page.goto(url + "/console/env/prod/endpoints/example-model")
    requests = page.locator('tr[data-variant="stable"] [data-variant-figure="requests"]')
    expect(requests).to_have_text(str(answers["1.0"]))
    before = dict(answers)
    for number in range(USERS, USERS + 40):  # new users: some of them land on each variant
        body = {"messages": [{"role": "user", "content": "hi"}]}
        reply = call("POST", url + CHAT, body, headers={**USER, "X-User-Id": f"user-{number}"})
        answers[reply.json()["choices"][0]["message"]["content"][5:]] += 1
    assert answers["1.0"] > before["1.0"]
    # the page's script fetches the figures every 5 s: the table follows without a reload
    expect(requests).to_have_text(str(answers["1.0"]), timeout=15_000)
    canary = page.locator('tr[data-variant="canary"] [data-variant-figure="requests"]')
    expect(canary).to_have_text(str(answers["1.1"]))
