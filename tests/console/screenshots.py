"""`make screenshots`: a PNG of each console page, for the README, from the bundled estate served
by a real `llmops proxy` with the sandbox model server and a stand-in cluster where dev is healthy.

python -m tests.console.screenshots docs/console
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.console.harness import CHROMIUM, USER, echo_model, git_estate, llmops_proxy
from tests.helpers import live_objects as live
from tests.helpers.estate import PROJECT_ROOT
from tests.helpers.kube_api import KubeApiServer
from tests.helpers.loopback import call
from tests.status.conftest import Rendered

VIEWPORT = {"width": 1200, "height": 900}
PAGES = {
    "overview": "/console/env/dev",
    "endpoint": "/console/env/dev/endpoints/example-model",
    "catalog": "/console/env/dev/catalog",
    "model": "/console/env/dev/catalog/models/example-base-model@1.0",
    "experiments": "/console/experiments",
}


def _traffic(proxy: str, users: int = 12) -> None:
    """A few chats from different users, so the experiment (or canary) has both variants."""
    body = json.dumps({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 16})
    for number in range(users):
        headers = {"X-User-Id": f"user-{number}", "X-User-Roles": "llm-ops-user"}
        headers["Content-Type"] = "application/json"
        call("POST", f"{proxy}/llm-ops/v1/serve/example-model/chat", body.encode(), headers)


def take(out: Path) -> list[Path]:
    from playwright.sync_api import expect, sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        estate = git_estate(work / "estate")
        rendered = Rendered(estate)
        canaries = work / "canary-estate"
        shutil.copytree(PROJECT_ROOT / "examples/canary/environments", canaries / "environments")
        with KubeApiServer().running() as cluster, echo_model(work) as model:
            for obj in Rendered(canaries).objects:
                if obj["kind"] == "InferenceService":
                    cluster.put(live.ready_isvc(obj))
            cluster.put(live.ready_isvc(rendered.one("InferenceService", "dev")))
            cluster.put(live.application(rendered.one("Application", "dev")))
            cluster.put(live.job(rendered.one("Job", "dev"), "succeeded"))
            kubeconfig = cluster.write_kubeconfig(work / "kubeconfig")
            with llmops_proxy(estate, work, backend=model, kubeconfig=kubeconfig) as proxy:
                _traffic(proxy)
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(
                        executable_path=str(CHROMIUM), args=["--no-sandbox"]
                    )
                    context = browser.new_context(extra_http_headers=USER, viewport=VIEWPORT)
                    page = context.new_page()
                    page.goto(proxy + PAGES["overview"])
                    for _ in range(50):  # until the first cluster reading is in
                        if "being read" not in page.inner_text("#main"):
                            break
                        page.wait_for_timeout(200)
                        page.reload()
                    for name, path in PAGES.items():
                        page.goto(proxy + path)
                        written.append(out / f"{name}.png")
                        page.screenshot(path=written[-1], full_page=True)
                    page.goto(proxy + "/console/chat")
                    page.get_by_label("System prompt").fill("You are a helpful assistant.")
                    page.get_by_label("Message").fill("Hello! Can you help me?")
                    page.get_by_role("button", name="Send").click()
                    expect(page.get_by_role("status")).to_contain_text("Done", timeout=30_000)
                    written.append(out / "chat.png")
                    page.screenshot(path=written[-1], full_page=True)
                    denied = browser.new_context(
                        extra_http_headers={"X-User-Id": "eve", "X-User-Roles": "guest"},
                        viewport=VIEWPORT,
                    ).new_page()
                    denied.goto(proxy + PAGES["overview"])
                    written.append(out / "forbidden.png")
                    denied.screenshot(path=written[-1], full_page=True)
                    written.append(_canary(browser, canaries, work, model, kubeconfig, out))
                    browser.close()
    return written


def _canary(
    browser: Any, estate: Path, work: Path, model: str, kubeconfig: Path, out: Path
) -> Path:
    """examples/canary's prod (both variants on the sandbox model): the endpoint page's canary."""
    backends = ("--backend", f"example-model-canary={model}")
    with llmops_proxy(
        estate, work, backend=model, kubeconfig=kubeconfig, extra=backends, env_name="prod"
    ) as proxy:
        _traffic(proxy, 40)
        page = browser.new_context(extra_http_headers=USER, viewport=VIEWPORT).new_page()
        for _ in range(50):  # until the first cluster reading is in
            page.goto(proxy + "/console/env/prod/endpoints/example-model")
            if "being read" not in page.inner_text("#main"):
                break
            page.wait_for_timeout(200)
        path = out / "canary.png"
        page.locator("section[aria-labelledby=canary]").screenshot(path=path)
        return path


if __name__ == "__main__":
    for path in take(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/console")):
        print(path)
