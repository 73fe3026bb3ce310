"""Which requests the proxy's own HTTP/1.1 server answers itself (llmops/proxy/front.py): a POST to
an inference route whose head is in a strict, common subset of HTTP/1.1. Anything else, valid or
not, is left to aiohttp's parser, which answers it (or refuses it in the envelope) as it always did.

The subset: the request line
`POST /llm-ops/v1/serve/<name>/<route>[?query] HTTP/1.1` with a plain name (letters, digits, `.`,
`_`, `-`; no percent-escape, so the name is what aiohttp's router would see); header lines of a
token, a colon and visible ASCII (no obs-fold, no bare CR or LF, no control character); at most
``MAX_FIELDS`` of them, the head at most ``HEAD_LIMIT`` bytes (below aiohttp's own line and field
limits); exactly one Host, not empty, with no space (HTTP/1.1 requires one: aiohttp refuses a
request without it in the envelope); exactly one Content-Length of digits; no Transfer-Encoding,
Content-Encoding, Expect or Upgrade; a Connection header, if any, of `keep-alive` and `close` only.
"""

from __future__ import annotations

import re
from typing import Final

# aiohttp's parser refuses a line or a field over 8,190 bytes: a head this short has none
HEAD_LIMIT: Final = 8190
MAX_FIELDS: Final = 100  # aiohttp's parser allows 128
_ROUTES: Final = {
    "chat": ("chat", False),
    "completion": ("completion", False),
    "embeddings": ("embeddings", False),
    "v1/chat/completions": ("chat", True),
    "v1/completions": ("completion", True),
    "v1/embeddings": ("embeddings", True),
}
_REQUEST_LINE: Final = re.compile(
    r"POST /llm-ops/v1/serve/([A-Za-z0-9][A-Za-z0-9._-]{0,252})/"
    r"(chat|completion|embeddings|v1/chat/completions|v1/completions|v1/embeddings)"
    r"(?:\?[!\"$-~]*)? HTTP/1\.1\r\n"
)
_PREFIX: Final = "POST /llm-ops/v1/serve/"
_VERSION: Final = " HTTP/1.1\r\n"
_TOKEN_TEXT: Final = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_TOKEN: Final = re.compile(_TOKEN_TEXT)
_FIELDS: Final = re.compile(rf"(?:{_TOKEN_TEXT}:[\t -~]*\r\n)*")  # visible ASCII, spaces and tabs
# the start of a request line in the subset, or of a header line
_BEGUN: Final = re.compile(r"P(?:O(?:S(?:T(?: (?:/(?:[!-~]*(?: (?:H[!-~]*\r?)?)?)?)?)?)?)?)?")
_LINE_BEGUN: Final = re.compile(r"[!-~]*(?::[ \t!-~]*)?\r?")
_CONNECTION_TOKENS: Final = frozenset(("keep-alive", "close"))
_ONCE: Final = frozenset(("host", "content-length"))  # exactly one of each
_REFUSED: Final = frozenset(("transfer-encoding", "content-encoding", "expect", "upgrade"))
# every byte a header line may hold: what is left of a head without them is its line ends, and
# any byte it may not hold
_LINE_BYTES: Final = bytes(range(0x20, 0x7F)) + b"\t"
# names that need no check of their characters (found by the lower-case name, whose hash the
# dict of fields reuses)
_COMMON: Final = frozenset(
    (
        "accept",
        "accept-encoding",
        "authorization",
        "connection",
        "content-length",
        "content-type",
        "host",
        "user-agent",
        "x-request-id",
        "x-user-id",
        "x-user-roles",
    )
)


def usual_spellings(names: frozenset[str] | tuple[str, ...]) -> dict[str, str]:
    """Lower-case header names by the ways HTTP clients and servers usually spell them (as
    written, capitalized, upper case): a name found with one lookup, with no new string made."""
    return {spelling: name for name in names for spelling in (name, name.title(), name.upper())}


_SPELLED: Final = usual_spellings(_COMMON)


class Head:
    """A request head the proxy's own server serves: the endpoint's route name as written, the
    kind of call, whether on the OpenAI routes, the headers (by lower-case name, the first of a
    repeated one), the body's length, and whether the caller asked to close the connection after
    the answer. (Made per request: compiled, a plain class costs less than a named tuple, whose
    constructor is Python code.)"""

    __slots__ = ("close", "headers", "kind", "length", "name", "openai")

    def __init__(
        self, name: str, kind: str, openai: bool, headers: dict[str, str], length: int, close: bool
    ) -> None:
        self.name = name
        self.kind = kind
        self.openai = openai
        self.headers = headers
        self.length = length
        self.close = close

    def fields(self) -> tuple[str, str, bool, dict[str, str], int, bool]:
        """Every field, in the order of the constructor (to compare heads)."""
        return (self.name, self.kind, self.openai, self.headers, self.length, self.close)


def may_become(partial: bytes) -> bool:
    """Whether a head not yet complete may still become one in the subset: its complete lines are,
    and the line begun holds no character a header cannot. Else it is aiohttp's at once, whose
    parser refuses a malformed head as soon as it sees it (a bare LF, a control character, TLS)."""
    if len(partial) > HEAD_LIMIT:
        return False
    text = partial.decode("latin-1")
    last = text.rfind("\r\n")
    if last < 0:
        return _BEGUN.fullmatch(text) is not None
    request_line = _REQUEST_LINE.match(text)
    return (
        request_line is not None
        and _FIELDS.fullmatch(text, request_line.end(), last + 2) is not None
        and _LINE_BEGUN.fullmatch(text, last + 2) is not None
    )


def parse_head(head: bytes) -> Head | None:
    """``head``: the bytes of a request head up to and including its last header line's CRLF (the
    blank line excluded). **Returns:** the head when it is in the subset, else None (never raises
    for any bytes).

    Checked with string methods in C rather than regular expressions over the head, which with a
    case-insensitive multidict cost about 40 % more, for every request: the head holds only
    visible ASCII, spaces, tabs and CRLFs (the bytes left when the others are deleted are
    counted); the request line is ``_REQUEST_LINE``'s; a name is a common header's, or letters,
    digits and hyphens, or else matches ``_TOKEN``; a value is what is left of its line."""
    if len(head) > HEAD_LIMIT:
        return None
    rest_bytes = head.translate(None, _LINE_BYTES)  # CRs, LFs and bytes no head may hold
    text = head.decode("latin-1")  # any byte above ASCII is in ``rest_bytes``: refused below
    # the request line, as ``_REQUEST_LINE`` reads it: a CR or LF before the version's (that is,
    # in the line) is a byte ``rest_bytes`` holds beyond those counted below
    if not text.startswith(_PREFIX):
        return None
    start = text.find(_VERSION, len(_PREFIX))
    if start < 0:
        return None
    target = text[len(_PREFIX) : start]
    start += len(_VERSION)
    slash = target.find("/")
    if not 0 < slash <= 253:
        return None
    endpoint = target[:slash]
    route = target[slash + 1 :]
    mark = route.find("?")
    if mark >= 0:
        query = route[mark + 1 :]
        route = route[:mark]
        if " " in query or "\t" in query or "#" in query:
            return None
    known = _ROUTES.get(route)
    if known is None or endpoint[0] in "._-":
        return None
    if not (
        endpoint.isalnum() or endpoint.replace(".", "").replace("_", "").replace("-", "").isalnum()
    ):
        return None
    if start == len(text) or not text.endswith("\r\n"):  # no header lines: no Content-Length
        return None
    rest = text[start:-2]
    lines = rest.split("\r\n")
    # the request line's CRLF, one between each two header lines and the last line's are every
    # byte ``rest_bytes`` holds: no CR or LF alone, no byte outside the subset's
    if len(lines) > MAX_FIELDS or len(rest_bytes) != 2 * len(lines) + 2:
        return None
    fields: dict[str, str] = {}
    close = False
    for line in lines:
        colon = line.find(":")
        if colon <= 0:
            return None
        name = line[:colon]
        key = _SPELLED.get(name)  # most names: a common one as clients write it
        if key is None:
            key = name.lower()
            if key not in _COMMON and not (
                name.replace("-", "").isalnum() or _TOKEN.fullmatch(name)
            ):
                return None
        value = line[colon + 1 :].strip(" \t")
        if key == "connection":  # every Connection header counts
            tokens = {token.strip().lower() for token in value.split(",")}
            if not tokens <= _CONNECTION_TOKENS:
                return None
            close = close or "close" in tokens
        if key in fields:
            if key in _ONCE:
                return None
            continue  # the first of a repeated field is the one read, as a multidict's get does
        fields[key] = value
    host = fields.get("host")
    length = fields.get("content-length")
    # each refused name looked up (a set's `isdisjoint` is a method call through CPython's
    # generic path, about 1,500 instructions)
    if host is None or length is None or any(name in fields for name in _REFUSED):
        return None
    if not host or " " in host or "\t" in host or len(length) > 15 or not length.isdigit():
        return None
    return Head(endpoint, known[0], known[1], fields, int(length), close)
