"""Who may see the console: the API's own rules (llmops/proxy/governance.py), so a role that may not
call the API may not look either.

Browsers do not send `Authorization` on a plain navigation, so when the proxy has a bearer token,
the sign-in page keeps it in the tab's sessionStorage (for what its scripts fetch) and asks the
proxy for a session cookie scoped to `/console` (gone when the browser closes) that pages accept
instead. The cookie holds a key derived from the token, never the token: browsers send a cookie
to every port of the host, so another program there (a dev server, a colleague's tool) received
the environment's bearer token, which opens the API as anyone. The key opens console pages only,
and is HttpOnly, so no page of another port reads it. The API routes keep accepting the header only.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from urllib.parse import unquote

from aiohttp import web
from multidict import CIMultiDict

from llmops.proxy.governance import Caller, identify
from llmops.proxy.state import STATE

PAGE_COOKIE = "llmops_console_key"
_KEY_PURPOSE = b"llmops console pages"


def page_key(token: str) -> str:
    """The cookie's value for a proxy whose bearer token is ``token``."""
    return hmac.new(token.encode("utf-8", "surrogateescape"), _KEY_PURPOSE, "sha256").hexdigest()


def page_headers(request: web.Request) -> Mapping[str, str]:
    """The request's headers, with `Authorization` standing for the console's cookie when the
    browser sent no header and the cookie holds this proxy's page key."""
    headers = CIMultiDict(request.headers)
    token = request.app[STATE].options.token
    cookie = request.cookies.get(PAGE_COOKIE)
    if (
        "Authorization" not in headers
        and cookie
        and token
        and hmac.compare_digest(
            unquote(cookie).encode("utf-8", "surrogateescape"), page_key(token).encode()
        )
    ):
        headers["Authorization"] = f"Bearer {token}"
    return headers


def signed_in(request: web.Request, response: web.StreamResponse) -> bool:
    """Set the page cookie when the request carries this proxy's bearer token; whether it did."""
    token = request.app[STATE].options.token
    given = request.headers.get("Authorization", "")
    if not token or not hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"),
        f"Bearer {token}".encode("utf-8", "surrogateescape"),
    ):
        return False
    response.set_cookie(
        PAGE_COOKIE,
        page_key(token),
        path="/console",
        httponly=True,
        samesite="Strict",
        secure=request.secure or None,
    )
    return True


def signed_out(response: web.StreamResponse) -> None:
    response.del_cookie(PAGE_COOKIE, path="/console")


def page_caller(request: web.Request) -> Caller:
    """The caller, or ``governance.Denied`` (401 or 403) for the page to show."""
    state = request.app[STATE]
    return identify(
        page_headers(request),
        state.config.access,
        state.options.token,
        state.config.environment,
        state.options.local_identity,
        reading=request.method in ("GET", "HEAD"),
    )
