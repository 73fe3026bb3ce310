"""`llmops proxy --local-identity USER:ROLE[,ROLE]`: who a request is when it names nobody, for a
person using the console from a browser on their own machine (no auth proxy to set `X-User-*`).

Safe only where nobody else can connect, so it is refused unless the proxy listens on a loopback
address (the rendered Deployment listens on 0.0.0.0). It stands in only for requests without
`X-User-Id`: a request that names its caller is that caller. The bearer token, the required role
and each endpoint's `allowedRoles` apply to it as to anyone.
"""

from __future__ import annotations

import ipaddress

from llmops.proxy.governance import Caller, parse_roles

FORMAT = "USER:ROLE[,ROLE]"


class BadLocalIdentity(ValueError):
    """The flag's value or the address it is used with is refused (a usage error)."""


def _parse(value: str) -> Caller:
    user, colon, roles = value.partition(":")
    parsed = parse_roles(roles)
    if not colon or not user.strip() or not parsed:
        raise BadLocalIdentity(
            f"--local-identity wants {FORMAT} (a user and at least one role), not {value!r}"
        )
    return Caller(user_id=user.strip(), roles=parsed)


def is_loopback(host: str) -> bool:
    """Only a literal loopback address counts (a name could resolve anywhere)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_local_identity(value: str, host: str) -> Caller:
    """The identity for requests naming nobody, or ``BadLocalIdentity``."""
    caller = _parse(value)
    if not is_loopback(host):
        raise BadLocalIdentity(
            f"--local-identity is only for a proxy listening on a loopback address "
            f"(127.0.0.1 or ::1), not {host!r}: anyone who can connect would act as "
            f"{caller.user_id}; there, an auth proxy in front sets X-User-Id and X-User-Roles"
        )
    return caller
