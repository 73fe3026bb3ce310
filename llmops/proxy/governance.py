"""Who is calling, and may they: the original platform's governance rules.

Every API call carries `X-User-Id` and `X-User-Roles` (comma-separated). The environment's
`proxy.requiredRole` (default `llm-ops-user`, as the original platform's workflow guide requires;
`null` for none) must be among the roles; an endpoint with `allowedRoles` also needs one of those.
The headers are only claims, so when the proxy has a shared token (`LLMOPS_PROXY_TOKEN`, from the
environment's `proxy.tokenSecretName`) they count only together with `Authorization: Bearer
<token>`.

Header values arrive as text decoded from UTF-8 with the undecodable bytes kept as lone surrogates
(aiohttp's choice); such a value is refused here with a 400, before it reaches a message or a
comparison.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Final

from llmops.proxy.config import Access, Endpoint

USER_HEADER: Final = "X-User-Id"
ROLES_HEADER: Final = "X-User-Roles"
# what the headers are read by
_USER_KEY: Final = USER_HEADER.lower()
_ROLES_KEY: Final = ROLES_HEADER.lower()
SETTING: Final = "spec.proxy.requiredRole"
SHOWN_CHARS: Final = 80  # how much of a caller's header value an error message repeats


class Denied(Exception):
    """A refused call: 400 (unreadable headers), 401 (who are you?) or 403 (not allowed)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class Caller:
    """Who made a request: the user and the roles they hold. (Made per request: compiled, a plain
    class costs less than a named tuple, whose constructor is Python code.)"""

    __slots__ = ("roles", "user_id")

    def __init__(self, user_id: str, roles: frozenset[str]) -> None:
        self.user_id = user_id
        self.roles = roles

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Caller)
            and self.user_id == other.user_id
            and self.roles == other.roles
        )

    def __hash__(self) -> int:
        return hash((self.user_id, self.roles))

    def __repr__(self) -> str:
        return f"Caller(user_id={self.user_id!r}, roles={sorted(self.roles)!r})"


def parse_roles(value: str) -> frozenset[str]:
    """The roles of a comma-separated list."""
    if "," not in value:  # most callers: one role
        role = value.strip()
        return frozenset((role,)) if role else frozenset()
    return frozenset(role.strip() for role in value.split(",") if role.strip())


def shown(value: str) -> str:
    """A caller-supplied value as error messages repeat it: bounded in length."""
    return value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + "…"


def _raw_bytes(value: str) -> bytes:
    """The header's bytes as sent (aiohttp keeps undecodable bytes as surrogates)."""
    return value.encode("utf-8", "surrogateescape")


def _text_header(headers: Mapping[str, str], name: str, key: str) -> str:
    value = headers.get(key, "")
    if not value.isascii():  # aiohttp keeps undecodable bytes as surrogates: refused here
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Denied(400, f"the {name} header is not valid UTF-8") from None
    return value.strip()


def _token_matches(authorization: str, token: str) -> bool:
    scheme, _, given = _raw_bytes(authorization).partition(b" ")
    # compare_digest: the time taken must not tell how much of a guess was right
    return scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), token.encode())


# the names a browser on this machine reaches a loopback proxy by
_LOOPBACK_NAMES: Final = frozenset({"localhost", "127.0.0.1", "[::1]", "::1", "localhost."})
# what `Sec-Fetch-Site` says of a request a page of the proxy's own made, or a person typed
_OWN_FETCH_SITES: Final = frozenset({"same-origin", "none"})


def _host_name(authority: str) -> str:
    """`127.0.0.1:8000` -> `127.0.0.1`, `[::1]:8000` -> `[::1]`, lower case."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        return authority[: authority.find("]") + 1]
    return authority.rpartition(":")[0] if authority.count(":") == 1 else authority


def _loopback_address(name: str) -> bool:
    """Whether ``name`` is a loopback address literal (127.0.0.0/8, ::1), not a name that merely
    begins like one (`127.attacker.example` resolves wherever its owner likes)."""
    import ipaddress

    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def _refuse_other_sites(headers: Mapping[str, str], reading: bool) -> None:
    """`--local-identity` is the person at this machine's browser, so only the proxy's own pages
    and what they fetch may act as them. Any other page the browser opens could: a form or a
    `no-cors` fetch needs no permission to reach 127.0.0.1 (it ran chats as the local user), and a
    name an attacker's DNS points at 127.0.0.1 (rebinding) made every answer readable. **Raises:**
    ``Denied`` (403) for a request of another site, or to a name that is not loopback's."""
    host = headers.get("host", "")
    name = _host_name(host)
    if name not in _LOOPBACK_NAMES and not _loopback_address(name):
        raise Denied(
            403,
            f"the local identity answers only requests to this machine's own names (localhost, "
            f"127.0.0.1, [::1]), not to {shown(host)}: another name that leads here is a page "
            "of another site",
        )
    if reading:  # a link from elsewhere to a page: nothing changes, and no other page reads it
        return
    site = headers.get("sec-fetch-site", "")
    origin = headers.get("origin", "")
    if (site and site.lower() not in _OWN_FETCH_SITES) or (
        origin and origin.lower().partition("://")[2] != host.strip().lower()
    ):
        raise Denied(
            403,
            "a request from another site's page does not get the local identity (Origin: "
            f"{shown(origin) or 'none'}, Sec-Fetch-Site: {shown(site) or 'none'}); open the "
            "console from this proxy's own address",
        )


def identify(
    headers: Mapping[str, str],
    access: Access,
    token: str | None,
    environment: str,
    local: Caller | None = None,
    reading: bool = False,
) -> Caller:
    """The caller of a request, or ``Denied``.

    **Parameters:** ``headers`` the request's headers, read by lower-case name (aiohttp's
    case-insensitive ones, or the proxy's own server's lower-case dict); ``access`` the role every
    caller must hold (or None) and whether it is the default; ``token`` the shared bearer token,
    or None when the proxy has none; ``environment`` names the environment whose setting a refusal
    points to; ``local`` the caller of a request without ``X-User-Id`` (``--local-identity``, on a
    loopback address only), held to the same role rules, and only for requests to a loopback
    name from the proxy's own pages (``reading``: a console page's GET, which a link from
    another site may make).
    """
    if token and not _token_matches(headers.get("authorization", ""), token):
        raise Denied(401, "a valid bearer token is required (Authorization: Bearer <token>)")
    user_id = _text_header(headers, USER_HEADER, _USER_KEY)
    roles = parse_roles(_text_header(headers, ROLES_HEADER, _ROLES_KEY))
    if local is not None and not user_id:
        _refuse_other_sites(headers, reading)
        user_id, roles = local.user_id, local.roles
    if not user_id or not roles:
        raise Denied(401, f"the {USER_HEADER} and {ROLES_HEADER} headers are required")
    required = access.required_role
    if required is not None and required not in roles:
        raise Denied(
            403, _missing_role(required, access.required_role_is_default, roles, environment)
        )
    return Caller(user_id=user_id, roles=roles)


def _missing_role(required: str, is_default: bool, roles: frozenset[str], environment: str) -> str:
    """Which role, which setting governs it (and whether the environment wrote it), and the ways
    out: send the role, change the setting, or turn it off."""
    held = f"the role {required} is required ({ROLES_HEADER}: {shown(', '.join(sorted(roles)))})"
    settings_file = f"environments/{environment}/environment.yaml"
    if is_default:
        return (
            f"{held}; {required} is the default of the setting {SETTING}, which {settings_file} "
            f"does not set. Send {required} in {ROLES_HEADER}, or set {SETTING} there to the role "
            "every caller holds, or to null to require no role"
        )
    return (
        f"{held}; {settings_file} sets {SETTING} to {required}. Send {required} in "
        f"{ROLES_HEADER}, or change {SETTING} there (null requires no role)"
    )


def authorize(caller: Caller, endpoint: Endpoint) -> None:
    """An endpoint with allowed roles admits callers holding at least one of them."""
    if endpoint.allowed_roles and caller.roles.isdisjoint(endpoint.allowed_roles):
        raise Denied(
            403,
            f"endpoint {endpoint.name} is open to the roles {', '.join(endpoint.allowed_roles)} "
            f"(its allowedRoles); {shown(caller.user_id)} has "
            f"{shown(', '.join(sorted(caller.roles)))}",
        )
