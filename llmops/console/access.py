"""Who may see the console: the API's own rules (llmops/proxy/governance.py), so a role that may not
call the API may not look either.

Browsers do not send `Authorization` on a plain navigation, so when the proxy has a bearer token,
the sign-in page keeps it in the tab's sessionStorage and mirrors it into a session cookie scoped to
`/console` (gone when the browser closes); pages accept the token from either. The API routes keep
accepting the header only.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote

from aiohttp import web
from multidict import CIMultiDict

from llmops.proxy.governance import Caller, identify
from llmops.proxy.state import STATE

TOKEN_COOKIE = "llmops_console_token"


def page_headers(request: web.Request) -> Mapping[str, str]:
    """The request's headers, with the console's token cookie as `Authorization` when the browser
    sent no header."""
    headers = CIMultiDict(request.headers)
    cookie = request.cookies.get(TOKEN_COOKIE)
    if "Authorization" not in headers and cookie:
        headers["Authorization"] = f"Bearer {unquote(cookie)}"
    return headers


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
