"""Who is calling, and may they: the seeds' governance rules.

Every API call carries `X-User-Id` and `X-User-Roles` (comma-separated) and must hold the required role
(`llm-ops-user`); an endpoint with `allowedRoles` also needs one of those. The headers are only claims,
so when the proxy has a shared token (`LLMOPS_PROXY_TOKEN`, from the environment's `proxy.tokenSecretName`)
they count only together with `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from llmops.proxy.config import Endpoint

USER_HEADER = "X-User-Id"
ROLES_HEADER = "X-User-Roles"


class Denied(Exception):
    """A refused call: 401 (who are you?) or 403 (not allowed)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Caller:
    user_id: str
    roles: frozenset[str]


def parse_roles(value: str) -> frozenset[str]:
    return frozenset(role.strip() for role in value.split(",") if role.strip())


def _token_matches(authorization: str, token: str) -> bool:
    scheme, _, given = authorization.partition(" ")
    # compare_digest: the time taken must not tell how much of a guess was right
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def identify(headers: Mapping[str, str], required_role: str, token: str | None) -> Caller:
    """The caller of a request, or ``Denied``.

    **Parameters:** ``headers`` case-insensitive request headers; ``required_role`` every caller's role;
    ``token`` the shared bearer token, or None when the proxy has none.
    """
    if token and not _token_matches(headers.get("Authorization", ""), token):
        raise Denied(401, "a valid bearer token is required (Authorization: Bearer <token>)")
    user_id = headers.get(USER_HEADER, "").strip()
    roles = parse_roles(headers.get(ROLES_HEADER, ""))
    if not user_id or not roles:
        raise Denied(401, f"the {USER_HEADER} and {ROLES_HEADER} headers are required")
    if required_role not in roles:
        raise Denied(403, f"the role {required_role} is required (X-User-Roles: {', '.join(sorted(roles))})")
    return Caller(user_id=user_id, roles=roles)


def authorize(caller: Caller, endpoint: Endpoint) -> None:
    """An endpoint with allowed roles admits callers holding at least one of them."""
    if endpoint.allowed_roles and caller.roles.isdisjoint(endpoint.allowed_roles):
        raise Denied(403, f"endpoint {endpoint.name} is open to the roles {', '.join(endpoint.allowed_roles)}; "
                          f"{caller.user_id} has {', '.join(sorted(caller.roles))}")
