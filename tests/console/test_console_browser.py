"""The console in headless Chromium against a real `llmops proxy` process serving the bundled
estate, with the sandbox model server behind it: what a user sees and does in a browser."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.console.harness import USER, llmops_proxy
from tests.helpers import live_objects as live
from tests.helpers.kube_api import KubeApiServer
from tests.helpers.loopback import call
from tests.status.conftest import Rendered

pytestmark = pytest.mark.slow
QUESTION = "Hello from the console"


@pytest.fixture(scope="module")
def cluster(estate: Path) -> Iterator[KubeApiServer]:
    """A readable cluster where dev's endpoint is ready, its training job done and its Argo CD
    application synced."""
    rendered = Rendered(estate)
    with KubeApiServer().running() as server:
        server.put(live.ready_isvc(rendered.one("InferenceService", "dev")))
        server.put(live.application(rendered.one("Application", "dev")))
        server.put(live.job(rendered.one("Job", "dev"), "succeeded"))
        yield server


@pytest.fixture(scope="module")
def proxy(estate: Path, logs: Path, model_server: str, cluster: KubeApiServer) -> Iterator[str]:
    kubeconfig = cluster.write_kubeconfig(logs / "kubeconfig")
    with llmops_proxy(estate, logs, backend=model_server, kubeconfig=kubeconfig) as url:
        yield url


@pytest.fixture(scope="module")
def blind_proxy(estate: Path, logs: Path) -> Iterator[str]:
    """A proxy whose cluster cannot be read (its kubeconfig does not exist)."""
    with llmops_proxy(estate, logs) as url:
        yield url


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(extra_http_headers=USER)
    yield context.new_page()
    context.close()


def verdict_cell(page: Any, endpoint: str) -> str:
    row = page.locator("tr", has=page.get_by_role("link", name=endpoint, exact=True))
    return str(row.locator(".verdict").inner_text())


def test_overview_lists_the_bundled_endpoints_with_their_verdicts(page: Any, proxy: str) -> None:
    page.goto(f"{proxy}/console/")
    assert page.url == f"{proxy}/console/env/dev"
    # the proxy reads the cluster in the background from its start: at most a few reloads
    for _ in range(50):
        if "being read" not in page.inner_text("#main"):
            break
        page.wait_for_timeout(200)
        page.reload()
    assert page.get_by_role("heading", name="Endpoints (1)").is_visible()
    row = page.locator("tr", has=page.get_by_role("link", name="example-model", exact=True))
    assert "example-base-model-1.0" in row.inner_text()
    assert "/llm-ops/v1/serve/example-model" in row.inner_text()
    # the verdict `llmops status` gives the live object the stand-in cluster serves
    assert verdict_cell(page, "example-model") == "Healthy"
    assert "Argo CD application: Healthy" in page.locator("#main").inner_text()
    # the training job's state, read the same way, on the catalog
    page.get_by_role("link", name="Catalog").click()
    job = page.locator("tr", has=page.get_by_role("cell", name="customer-support-sft", exact=True))
    assert "Succeeded" in job.inner_text()
    page.get_by_role("link", name="Overview").click()
    # every environment of the estate has a tab
    for env in ("dev", "prod", "stg"):
        page.get_by_role("link", name=env, exact=True).click()
        assert page.get_by_role("heading", name="Endpoints (1)").is_visible()
        assert page.url.endswith(f"/console/env/{env}")


def test_an_unreadable_cluster_shows_not_checked(page: Any, blind_proxy: str) -> None:
    page.goto(f"{blind_proxy}/console/env/dev")
    assert verdict_cell(page, "example-model") == "not checked"
    assert "Verdicts: not checked: the cluster cannot be read" in page.inner_text("#main")


def test_a_forbidden_role_sees_the_403_page(chromium: Any, proxy: str) -> None:
    context = chromium.new_context(extra_http_headers={"X-User-Id": "eve", "X-User-Roles": "guest"})
    page = context.new_page()
    for path in ("/console/env/dev", "/console/chat", "/console/env/dev/endpoints/example-model"):
        response = page.goto(proxy + path)
        assert response.status == 403
        assert page.get_by_role("heading", name="403: not allowed").is_visible()
        assert "the role llm-ops-user is required" in page.get_by_role("alert").inner_text()
        assert "example-base-model-1.0" not in page.content()
    context.close()


def test_pages_work_without_javascript(chromium: Any, proxy: str, estate: Path) -> None:
    context = chromium.new_context(extra_http_headers=USER, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{proxy}/console/env/dev")
    page.get_by_role("link", name="example-model", exact=True).click()
    assert page.get_by_role("heading", name="Capacity: fits").is_visible()
    history = page.locator("section", has=page.locator("#history")).inner_text()
    assert "The bundled estate" in history
    page.get_by_role("link", name="Catalog").click()
    approvals = page.get_by_role("table", name="Approvals")
    assert "admin" in approvals.inner_text() and "valid" in approvals.inner_text()
    page.get_by_role("link", name="example-base-model@1.0").click()
    lineage = page.locator("section", has=page.locator("#lineage")).inner_text()
    assert "example-base-model@1.0" in lineage and "example-model" in lineage
    # when each approval was committed, as the real git binary reports it
    approval = "environments/dev/approvals/example-base-model-1-0-admin.yaml"
    when = subprocess.run(
        ["git", "log", "-1", "--format=%aI", "--", approval],
        cwd=estate,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    row = page.get_by_role("table", name="Approvals").locator("tr", has_text="admin")
    assert when[:16].replace("T", " ") in row.inner_text()
    context.close()


def test_chat_streams_an_answer_token_by_token(page: Any, proxy: str) -> None:
    page.goto(f"{proxy}/console/chat")
    page.get_by_label("Endpoint").select_option(label="example-model (example-base-model-1.0)")
    page.get_by_label("Max tokens").fill("64")
    page.get_by_label("Message").fill(QUESTION)
    # record every text the answer shows on its way
    page.evaluate(
        """() => { window.seen = [];
        new MutationObserver(() => window.seen.push(document.getElementById('answer').textContent))
          .observe(document.getElementById('answer'), {childList: true, characterData: true,
                                                       subtree: true}); }"""
    )
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_have_text(re.compile("^Done"), timeout=30_000)
    answer = page.locator("#answer").inner_text()
    assert answer.endswith(f"echo: {QUESTION}")
    seen = page.evaluate("window.seen")
    partial = [text for text in seen if text and text != answer]
    assert len(partial) >= len(QUESTION.split()), seen  # it grew piece by piece


def test_the_experiment_page_shows_both_variants_after_traffic(page: Any, proxy: str) -> None:
    body = json.dumps({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 16})
    for number in range(12):  # users land in both buckets
        headers = {"X-User-Id": f"user-{number}", "X-User-Roles": "llm-ops-user"}
        answer = call(
            "POST",
            f"{proxy}/llm-ops/v1/serve/example-model/chat",
            body.encode(),
            {**headers, "Content-Type": "application/json"},
            timeout=30,
        )
        assert answer.status == 200, answer.body
    page.goto(f"{proxy}/console/experiments")
    assert page.get_by_role("heading", name="support-tone").is_visible()
    requests = {}
    for variant in ("A", "B"):
        cells = page.locator(f"tr[data-variant='{variant}'] td").all_inner_texts()
        requests[variant] = int(cells[1])
    assert requests["A"] > 0 and requests["B"] > 0, requests
    assert page.locator("svg.chart").count() == 2
    # the endpoint's live figures count the same requests (from the proxy's own metrics)
    page.goto(f"{proxy}/console/env/dev/endpoints/example-model")
    counted = int(page.locator("[data-figure='requests']").inner_text())
    assert counted >= requests["A"] + requests["B"]
    assert page.locator("[data-figure='errors']").inner_text() == "0"


def focused(page: Any) -> str:
    return str(
        page.evaluate("() => document.activeElement.id || document.activeElement.textContent")
    )


def test_the_chat_works_from_the_keyboard_alone(page: Any, proxy: str) -> None:
    """Every control is reachable with Tab in reading order and named by its label; Enter sends."""
    page.goto(f"{proxy}/console/chat")
    page.keyboard.press("Tab")
    assert focused(page) == "Skip to content"
    order = []
    for _ in range(20):
        page.keyboard.press("Tab")
        order.append(focused(page))
        if order[-1] == "message":
            break
    assert order[-5:] == ["endpoint", "system", "temperature", "max_tokens", "message"], order
    for control in ("Endpoint", "System prompt", "Temperature", "Max tokens", "Message"):
        assert page.get_by_label(control).count() == 1
    page.keyboard.type("keys only")
    page.keyboard.press("Tab")
    assert focused(page) == "send"
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text(re.compile("^Done"), timeout=30_000)
    assert page.locator("#answer").inner_text().endswith("echo: keys only")


def test_signing_in_with_the_token_opens_the_pages_and_no_page_reads_it(
    chromium: Any, estate: Path, logs: Path
) -> None:
    """The sign-in form in a real browser: a wrong token is refused; the right one opens every
    console page by plain navigation; what the browser keeps for that is an HttpOnly key, not the
    token (a cookie goes to every port of the host); signing out closes the pages again."""
    with llmops_proxy(estate, logs, token="s3cret-token") as url:
        context = chromium.new_context(extra_http_headers=USER)
        page = context.new_page()
        page.goto(f"{url}/console/env/dev")
        assert "401" in page.title() or "sign in" in page.inner_text("#main").lower()
        page.goto(f"{url}/console/signin")
        page.get_by_label("Bearer token").fill("wrong")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#signin-status")).to_have_text("This proxy refused that token.")
        page.get_by_label("Bearer token").fill("s3cret-token")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#signin-status")).to_have_text("Signed in for this browser session.")
        cookies = context.cookies()
        assert [c["name"] for c in cookies] == ["llmops_console_key"]
        assert cookies[0]["httpOnly"] and "s3cret-token" not in cookies[0]["value"]
        assert "s3cret" not in page.evaluate("document.cookie")
        page.goto(f"{url}/console/env/dev")
        assert page.get_by_role("heading", name="Endpoints (1)").is_visible()
        page.goto(f"{url}/console/signin")
        page.get_by_role("button", name="Sign out").click()
        expect(page.locator("#signin-status")).to_have_text("Signed out.")
        assert context.cookies() == []
        context.close()
