"""The console's pages over HTTP, without a browser: paging through a large estate, a proxy started
from proxy.json, the bearer token, and the assets that ship in the package."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.generate_estate import generate_estate
from llmops.console.pages import (
    MODEL_PAGE_SIZE,
    PAGE_SIZE,
    console_from_config,
    console_from_estate,
)
from llmops.proxy.config_source import config_from_estate
from llmops.proxy.options import ProxyOptions
from llmops.proxy.server import running_proxy
from tests.helpers.estate import PROJECT_ROOT, copy_bundled_estate
from tests.helpers.loopback import call

pytestmark = pytest.mark.slow
USER = {"X-User-Id": "ann", "X-User-Roles": "llm-ops-user"}
ENDPOINTS = 120
CONSOLE = PROJECT_ROOT / "llmops" / "console"


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("large")
    generate_estate(root, ENDPOINTS, ("dev",))
    config = config_from_estate(str(root), "dev")
    with running_proxy(config, ProxyOptions(), console=console_from_estate(root, "dev")) as url:
        yield url


def rows(html: str) -> list[str]:
    return re.findall(r'<a href="/console/env/dev/endpoints/([^"]+)">', html)


def test_the_overview_pages_through_the_endpoints(large: str) -> None:
    first = call("GET", f"{large}/console/env/dev", headers=USER)
    assert first.status == 200
    html = first.body.decode()
    assert f"Endpoints ({ENDPOINTS})" in html
    assert len(rows(html)) == PAGE_SIZE
    assert 'href="?page=2" rel="next"' in html
    last = call("GET", f"{large}/console/env/dev?page=3", headers=USER).body.decode()
    assert len(rows(last)) == ENDPOINTS - 2 * PAGE_SIZE
    assert not set(rows(html)) & set(rows(last))
    # a page past the end, or not a number, shows the nearest page
    assert rows(
        call("GET", f"{large}/console/env/dev?page=99", headers=USER).body.decode()
    ) == rows(last)
    assert rows(call("GET", f"{large}/console/env/dev?page=x", headers=USER).body.decode()) == rows(
        html
    )


def test_the_catalog_pages_each_list_on_its_own(large: str) -> None:
    html = call("GET", f"{large}/console/env/dev/catalog?models=6", headers=USER).body.decode()
    assert f"Models ({ENDPOINTS})" in html
    assert html.count('<article class="card"') == ENDPOINTS - 5 * MODEL_PAGE_SIZE
    assert "page 6 of 6" in html and "page 1 of 3" in html  # models on 6, datasets on 1


def test_a_proxy_started_from_proxy_json_shows_what_it_carries(tmp_path: Path) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    config = config_from_estate(str(estate), "dev")
    with running_proxy(config, ProxyOptions(), console=console_from_config(config)) as url:
        html = call("GET", f"{url}/console/env/dev", headers=USER).body.decode()
        assert "example-model" in html
        assert "not checked" in html and "started from proxy.json" in html
        catalog = call("GET", f"{url}/console/env/dev/catalog", headers=USER).body.decode()
        assert "example-base-model@1.0" in catalog
        page = call("GET", f"{url}/console/env/dev/endpoints/example-model", headers=USER)
        assert page.status == 200
        assert "max_output_tokens" in page.body.decode()


def test_the_bearer_token_guards_the_pages(tmp_path: Path) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    config = config_from_estate(str(estate), "dev")
    options = ProxyOptions(token="s3cret")
    with running_proxy(config, options, console=console_from_config(config)) as url:
        page = f"{url}/console/env/dev"
        refused = call("GET", page, headers=USER)
        assert refused.status == 401
        assert 'href="/console/signin"' in refused.body.decode()
        assert (
            call("GET", page, headers={**USER, "Cookie": "llmops_console_token=nope"}).status == 401
        )
        assert call("GET", page, headers={**USER, "Authorization": "Bearer s3cret"}).status == 200
        # signing in gives a cookie holding a key derived from the token, never the token: a
        # browser sends a cookie to every port of the host, so another program there received
        # the environment's bearer token (which opens the API as anyone)
        wrong = call("POST", f"{url}/console/signin", b"", headers={"Authorization": "Bearer no"})
        assert wrong.status == 401 and "Set-Cookie" not in wrong.headers
        answer = call(
            "POST", f"{url}/console/signin", b"", headers={"Authorization": "Bearer s3cret"}
        )
        assert answer.status == 204
        cookie = answer.headers["Set-Cookie"]
        name, _, rest = cookie.partition("=")
        key = rest.split(";")[0]
        assert name == "llmops_console_key" and key and "s3cret" not in cookie
        attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "path=/console", "samesite=strict"} <= attributes
        signed_in = {**USER, "Cookie": f"llmops_console_key={key}"}
        assert call("GET", page, headers=signed_in).status == 200
        raw = {**USER, "Cookie": "llmops_console_token=s3cret"}  # the old cookie: no longer a key
        assert call("GET", page, headers=raw).status == 401
        # the cookie stands for the header on console pages only, not on the API
        api = call("GET", f"{url}/llm-ops/v1/serving/endpoints", headers=signed_in)
        assert api.status == 401
        assert call("GET", f"{url}/console/signin").status == 200
        out = call("POST", f"{url}/console/signout", b"")
        assert out.status == 204 and "llmops_console_key=" in out.headers["Set-Cookie"]


def test_every_asset_ships_in_the_package_and_none_comes_from_elsewhere() -> None:
    """No CDN: nothing a page loads names another host."""
    for path in [*CONSOLE.glob("templates/*.j2"), *CONSOLE.glob("static/*")]:
        text = path.read_text()
        assert not re.search(r'(src|href)="(https?:)?//', text), path
        assert "@import" not in text, path
    referenced = set(
        re.findall(
            r"/console/static/([\w.]+)", "".join(p.read_text() for p in CONSOLE.glob("templates/*"))
        )
    )
    assert referenced == {p.name for p in CONSOLE.glob("static/*")}


def test_an_approval_of_an_earlier_model_manifest_shows_void(tmp_path: Path) -> None:
    """Editing the model voids its approval (its digest no longer matches): the catalog says so
    and the model is not approved."""
    estate = copy_bundled_estate(tmp_path / "estate")
    model = estate / "environments" / "_shared" / "catalog" / "example-base-model.yaml"
    model.write_text(
        model.read_text().replace(
            "s3://models/example-base-model/1.0/", "s3://models/example-base-model/1.0-retrained/"
        )
    )
    console = console_from_estate(estate, "dev")
    config = config_from_estate(str(PROJECT_ROOT), "dev")  # the proxy's own configuration
    with running_proxy(config, ProxyOptions(), console=console) as url:
        html = call("GET", f"{url}/console/env/dev/catalog", headers=USER).body.decode()
    assert "<strong>void</strong>" in html
    assert "not approved" in html


def test_an_unknown_page_says_what_is_not_there(large: str) -> None:
    for path, says in (
        ("/console/env/qa", "no environment &#39;qa&#39; here (environments: dev)"),
        ("/console/env/dev/endpoints/nope", "no endpoint &#39;nope&#39; in dev"),
        ("/console/env/dev/catalog/models/nope@1", "no model &#39;nope@1&#39; in dev"),
    ):
        answer = call("GET", large + path, headers=USER)
        assert answer.status == 404
        assert "404: not here" in answer.body.decode() and says in answer.body.decode(), path


def test_an_endpoint_open_to_some_roles_is_hidden_from_the_others(tmp_path: Path) -> None:
    """allowedRoles governs the endpoint's page, in the proxy's environment and in the others."""
    estate = copy_bundled_estate(tmp_path / "estate")
    for env in ("dev", "stg"):
        manifest = estate / "environments" / env / "serving" / "example-model.yaml"
        text = manifest.read_text()
        assert text.count("\n  route:") == 1
        manifest.write_text(text.replace("\n  route:", "\n  allowedRoles: [support]\n  route:"))
    config = config_from_estate(str(estate), "dev")
    with running_proxy(config, ProxyOptions(), console=console_from_estate(estate, "dev")) as url:
        for env in ("dev", "stg"):
            page = f"{url}/console/env/{env}/endpoints/example-model"
            refused = call("GET", page, headers=USER)
            assert refused.status == 403, env
            assert "open to the roles support" in refused.body.decode()
            allowed = {"X-User-Id": "sam", "X-User-Roles": "llm-ops-user,support"}
            assert call("GET", page, headers=allowed).status == 200
        chat = call("GET", f"{url}/console/chat", headers=USER).body.decode()
        assert 'value="example-model"' not in chat
        # the page's live figures, and its experiments, are governed as the page is
        figures = f"{url}/console/env/dev/endpoints/example-model/figures"
        assert call("GET", figures, headers=USER).status == 403
        assert call("GET", figures, headers=allowed).status == 200
        shown = call("GET", f"{url}/console/experiments", headers=USER).body.decode()
        assert "support-tone" not in shown
        assert (
            "support-tone"
            in call("GET", f"{url}/console/experiments", headers=allowed).body.decode()
        )


def test_every_console_answer_is_neither_sniffed_framed_nor_kept_with_a_callers_data() -> None:
    """A page, its script and its live figures: `nosniff`, not framed (also where CSP's
    frame-ancestors is unknown), and what holds a caller's data is not cached."""
    config = config_from_estate(str(PROJECT_ROOT), "dev")
    console = console_from_estate(PROJECT_ROOT, "dev")
    with running_proxy(config, ProxyOptions(), console=console) as url:
        for path, cache in (
            ("/console/env/dev", "no-store"),
            ("/console/env/dev/endpoints/example-model/figures", "no-store"),
            ("/console/static/console.js", "max-age=300"),
            ("/console/env/dev/endpoints/nope", "no-store"),  # a 404 page
        ):
            answer = call("GET", url + path, headers=USER)
            headers = {name.lower(): value for name, value in answer.headers.items()}
            assert headers.get("x-content-type-options") == "nosniff", path
            assert headers.get("x-frame-options") == "DENY", path
            assert headers.get("cache-control") == cache, path


def test_a_commit_subjects_bidi_characters_are_shown_escaped(tmp_path: Path) -> None:
    """`llmops history` prints a subject's U+202E as `\\u202e`; the endpoint's page showed it raw,
    so a committer could reorder the text of their own line in its recent history."""
    from tests.helpers.git_repo import commit_all, init_repository

    estate = copy_bundled_estate(tmp_path / "estate")
    repo = init_repository(estate)
    endpoint = estate / "environments/dev/serving/example-model.yaml"
    endpoint.write_text(endpoint.read_text().replace("maxReplicas: 3", "maxReplicas: 4"))
    commit_all(repo, "raise replicas \u202eevil")
    config = config_from_estate(str(estate), "dev")
    with running_proxy(config, ProxyOptions(), console=console_from_estate(estate, "dev")) as url:
        page = call("GET", f"{url}/console/env/dev/endpoints/example-model", headers=USER)
    text = page.body.decode()
    assert "raise replicas" in text
    assert "\u202e" not in text and "\\u202eevil" in text
