"""`llmops proxy --local-identity`: a person's browser on their own machine uses the console
without an auth proxy, and nothing else changes. Real `llmops proxy` processes, real HTTP."""

from __future__ import annotations

import html
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.console.harness import LLMOPS, llmops_proxy
from tests.helpers.estate import PROJECT_ROOT
from tests.helpers.loopback import call, free_port
from tests.status.conftest import Rendered

pytestmark = pytest.mark.slow
OVERVIEW = "/console/env/dev"
ENDPOINTS = "/llm-ops/v1/serving/endpoints"


@pytest.fixture(scope="module")
def as_ann(estate: Path, logs: Path) -> Iterator[str]:
    with llmops_proxy(estate, logs, extra=("--local-identity", "ann:llm-ops-user")) as url:
        yield url


@pytest.fixture(scope="module")
def as_viewer(estate: Path, logs: Path) -> Iterator[str]:
    with llmops_proxy(estate, logs, extra=("--local-identity", "vic:viewer")) as url:
        yield url


def test_a_browser_without_headers_is_the_local_identity_on_127_0_0_1(
    as_ann: str, logs: Path
) -> None:
    page = call("GET", as_ann + OVERVIEW)
    assert page.status == 200
    assert "example-model" in page.body.decode()
    assert call("GET", as_ann + ENDPOINTS).status == 200  # the API too: the same rules
    port = as_ann.rsplit(":", 1)[1]
    log = (logs / f"proxy-{port}.log").read_text()
    assert "--local-identity: requests without X-User-Id act as ann (roles llm-ops-user)" in log


def test_without_the_flag_a_browser_without_headers_is_refused(estate: Path, logs: Path) -> None:
    with llmops_proxy(estate, logs) as url:
        assert call("GET", url + OVERVIEW).status == 401


def test_an_explicit_header_still_wins(as_ann: str, as_viewer: str) -> None:
    # the local identity may look; a request naming a caller without the role may not
    viewer = {"X-User-Id": "bob", "X-User-Roles": "viewer"}
    refused = call("GET", as_ann + OVERVIEW, headers=viewer)
    assert refused.status == 403
    assert "X-User-Roles: viewer" in refused.body.decode()
    # and the other way round: a caller with the role gets in where the local identity may not
    user = {"X-User-Id": "bob", "X-User-Roles": "llm-ops-user"}
    assert call("GET", as_viewer + OVERVIEW, headers=user).status == 200


CHAT = "/llm-ops/v1/serve/example-model/v1/chat/completions"
BODY = b'{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}'


@pytest.mark.parametrize(
    "other_site",
    [
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},  # a form, a fetch
        {"Origin": "https://evil.example"},  # a browser without Fetch Metadata
        {"Sec-Fetch-Site": "same-site"},  # another port or subdomain of the same site
        {"Origin": "null"},  # a sandboxed frame, a file
    ],
)
def test_another_sites_page_does_not_act_as_the_local_identity(
    as_ann: str, other_site: dict[str, str]
) -> None:
    """Any page the person opens could post a form or a `no-cors` fetch to 127.0.0.1: it ran
    chats as them. Refused before anything reaches the model server; the API and the console's
    data answer the same way."""
    headers = {"Content-Type": "text/plain", **other_site}
    refused = call("POST", as_ann + CHAT, BODY, headers=headers)
    assert refused.status == 403
    assert "does not get the local identity" in refused.body.decode()
    assert call("GET", as_ann + ENDPOINTS, headers=other_site).status == 403
    # the proxy's own pages, and a program (no Origin, no Fetch Metadata), still do
    port = as_ann.rsplit(":", 1)[1]
    own = {"Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"}
    assert call("GET", as_ann + ENDPOINTS, headers=own).status == 200
    assert call("GET", as_ann + ENDPOINTS).status == 200
    # a link from another site to a page only shows it (nothing changes, no page reads it)
    link = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
    assert call("GET", as_ann + OVERVIEW, headers=link).status == 200


@pytest.mark.parametrize(
    "name", ["evil.example", "attacker.test:8000", "10.0.0.5", "[::2]", "127.attacker.test:8000"]
)
def test_a_name_that_is_not_loopbacks_gets_no_local_identity(as_ann: str, name: str) -> None:
    """DNS rebinding: an attacker's name answered with 127.0.0.1 makes its page same-origin with
    the proxy, which then read everything the console shows and chatted. Only requests to this
    machine's own names act as the local identity."""
    for path in (OVERVIEW, ENDPOINTS):
        refused = call("GET", as_ann + path, headers={"Host": name})
        assert refused.status == 403, path
        said = html.unescape(refused.body.decode())
        assert "answers only requests to this machine's own names" in said, said
    for own in ("localhost", "127.0.0.1", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST", "127.3.2.1"):
        assert call("GET", as_ann + ENDPOINTS, headers={"Host": own}).status == 200, own


def test_the_local_identity_keeps_to_the_role_rules(as_viewer: str) -> None:
    page = call("GET", as_viewer + OVERVIEW)
    assert page.status == 403
    assert "the role llm-ops-user is required" in page.body.decode()
    assert call("GET", as_viewer + ENDPOINTS).status == 403


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--host", "0.0.0.0"), "only for a proxy listening on a loopback address"),
        (("--host", "localhost"), "only for a proxy listening on a loopback address"),
        (("--host", "127.0.0.1"), None),
    ],
)
def test_anything_but_a_loopback_address_is_a_usage_error(
    estate: Path, arguments: tuple[str, ...], message: str | None
) -> None:
    port = free_port()
    identity = "ann:llm-ops-user" if message else "ann"  # the last: a value without roles
    command = [str(LLMOPS), "proxy", str(estate), "--env", "dev", "--port", str(port), *arguments]
    done = subprocess.run(
        [*command, "--local-identity", identity],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert (message or "--local-identity wants USER:ROLE[,ROLE]") in done.stderr
    assert "serving" not in done.stdout


def test_the_rendered_proxy_deployment_cannot_use_it(estate: Path, tmp_path: Path) -> None:
    """The Deployment's own arguments (it listens on 0.0.0.0) with the flag added: refused."""
    rendered = Rendered(estate)
    deployment = rendered.one("Deployment", "dev")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    arguments = list(container["args"])
    assert arguments[arguments.index("--host") + 1] == "0.0.0.0"
    config = tmp_path / "proxy.json"  # the ConfigMap's file, where the Deployment mounts it
    (configmap,) = [
        o
        for o in rendered.objects
        if o["kind"] == "ConfigMap"
        and o["metadata"]["name"] == "llmops-proxy-config"
        and o["metadata"]["namespace"] == deployment["metadata"]["namespace"]
    ]
    config.write_text(configmap["data"]["proxy.json"])
    arguments[arguments.index("--config") + 1] = str(config)
    arguments[arguments.index("--port") + 1] = str(free_port())
    done = subprocess.run(
        [str(LLMOPS), *arguments, "--local-identity", "ann:llm-ops-user"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "only for a proxy listening on a loopback address" in done.stderr


@pytest.mark.parametrize(
    ("identity", "problem"),
    [
        (":", "a user and at least one role"),
        ("a:", "a user and at least one role"),
        (":r", "a user and at least one role"),
        ("a:b,,c", "none empty"),
        ("a:b,", "none empty"),
        ("a:b:c", "one colon"),
        ("ann\x1b[2J:llm-ops-user", "control, bidi or zero-width"),
        ("ann:llm-ops-user\u202e", "control, bidi or zero-width"),
        ("ann:" + "r" * 10_000, "at most 128 characters each"),
        ("ann:llm ops", "without spaces"),
        ("a" * 300 + ":llm-ops-user", "at most 256 characters"),
    ],
)
def test_a_value_that_is_not_user_and_roles_is_a_usage_error(
    estate: Path, identity: str, problem: str
) -> None:
    command = [str(LLMOPS), "proxy", str(estate), "--env", "dev", "--port", str(free_port())]
    done = subprocess.run(
        [*command, "--local-identity", identity],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=30,  # a value taken starts the proxy, which never ends by itself
    )
    assert done.returncode == 2, done.stderr
    assert "--local-identity wants USER:ROLE[,ROLE]" in done.stderr
    assert problem in done.stderr
    assert "Traceback" not in done.stderr
    assert "\x1b" not in done.stderr and "\u202e" not in done.stderr  # shown as escapes
    assert "serving" not in done.stdout
    assert len(done.stderr) < 1_000  # a long value is cut short where the error repeats it
