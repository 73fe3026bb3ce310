"""`llmops proxy --local-identity USER:ROLE[,ROLE]`: who a request is when it names nobody, for a
person using the console from a browser on their own machine (no auth proxy to set `X-User-*`).

Safe only where nobody else can connect, so it is refused unless the proxy listens on a loopback
address (the rendered Deployment listens on 0.0.0.0). It stands in only for requests without
`X-User-Id`: a request that names its caller is that caller. The bearer token, the required role
and each endpoint's `allowedRoles` apply to it as to anyone.

The value is read strictly, as a usage error names what is wrong: one colon, a user, and roles
none of which is empty (`a:b,,c` is a typo, not the roles b and c); no control, bidi or zero-width
character (the identity is logged, and no header could carry it); the user and roles follow the
rules of approver ids and of X-User-Roles, so it is an identity a request could have sent.
"""

from __future__ import annotations

import ipaddress

from compiler.printable import escape_controls, has_controls
from compiler.spec.formats import MAX_ROLE_NAME, MAX_USER_ID, is_role_name, is_user_id
from llmops.proxy.governance import Caller

FORMAT = "USER:ROLE[,ROLE]"
SHOWN_CHARS = 80


class BadLocalIdentity(ValueError):
    """The flag's value or the address it is used with is refused (a usage error)."""


def _problem(value: str) -> str | None:
    """What is wrong with the value, or None."""
    if has_controls(value):
        return "it holds a control, bidi or zero-width character"
    user, colon, roles = value.partition(":")
    if not colon or not user.strip() or not roles.strip():
        return "a user and at least one role"
    if ":" in roles:
        return "one colon, between the user and the roles"
    if any(not role.strip() for role in roles.split(",")):
        return "a role between every two commas, and none empty"
    if not is_user_id(user.strip()):
        return f"a user of visible text, at most {MAX_USER_ID} characters, as approver ids are"
    if not all(is_role_name(role.strip()) for role in roles.split(",")):
        return (
            f"roles of printable ASCII without spaces, at most {MAX_ROLE_NAME} characters each, "
            "as X-User-Roles carries them"
        )
    return None


def _shown(value: str) -> str:
    """The value as the error repeats it: escaped, and cut short when it is long."""
    cut = value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + "…"
    return escape_controls(cut)


def _parse(value: str) -> Caller:
    problem = _problem(value)
    if problem is not None:
        raise BadLocalIdentity(
            f"--local-identity wants {FORMAT} ({problem}), not '{_shown(value)}'"
        )
    user, _, roles = value.partition(":")
    return Caller(user_id=user.strip(), roles=frozenset(role.strip() for role in roles.split(",")))


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
            f"(127.0.0.1 or ::1), not '{escape_controls(host)}': anyone who can connect would "
            f"act as {caller.user_id}; there, an auth proxy in front sets X-User-Id and "
            "X-User-Roles"
        )
    return caller
