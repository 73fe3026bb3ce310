"""Which requests the proxy's own HTTP/1.1 server answers itself (llmops/proxy/front.py): a POST to
an inference route whose head is in a strict, common subset of HTTP/1.1. Anything else, valid or
not, is left to aiohttp's parser, which answers it (or refuses it in the envelope) as it always did.

The subset, checked on the whole head at once: the request line
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
from typing import NamedTuple

from multidict import CIMultiDict

# aiohttp's parser refuses a line or a field over 8,190 bytes: a head this short has none
HEAD_LIMIT = 8190
MAX_FIELDS = 100  # aiohttp's parser allows 128
_ROUTES = {
    "chat": ("chat", False),
    "completion": ("completion", False),
    "embeddings": ("embeddings", False),
    "v1/chat/completions": ("chat", True),
    "v1/completions": ("completion", True),
    "v1/embeddings": ("embeddings", True),
}
_REQUEST_LINE = re.compile(
    r"POST /llm-ops/v1/serve/([A-Za-z0-9][A-Za-z0-9._-]{0,252})/"
    r"(chat|completion|embeddings|v1/chat/completions|v1/completions|v1/embeddings)"
    r"(?:\?[!\"$-~]*)? HTTP/1\.1\r\n"
)
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_FIELDS = re.compile(rf"(?:{_TOKEN}:[\t -~]*\r\n)*")  # visible ASCII, spaces and tabs
# the start of a request line in the subset, or of a header line
_BEGUN = re.compile(r"P(?:O(?:S(?:T(?: (?:/(?:[!-~]*(?: (?:H[!-~]*\r?)?)?)?)?)?)?)?)?")
_LINE_BEGUN = re.compile(r"[!-~]*(?::[ \t!-~]*)?\r?")
_DIGITS = re.compile(r"[0-9]{1,15}")
_HOST = re.compile(r"[!-~]+")
_CONNECTION_TOKENS = frozenset(("keep-alive", "close"))


class Head(NamedTuple):
    """A request head the proxy's own server serves: the endpoint's route name as written, the
    kind of call, whether on the OpenAI routes, the headers, the body's length, and whether the
    caller asked to close the connection after the answer. (A named tuple: made per request, it
    costs a fraction of a frozen dataclass.)"""

    name: str
    kind: str
    openai: bool
    headers: CIMultiDict[str]
    length: int
    close: bool


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
    for any bytes)."""
    if len(head) > HEAD_LIMIT:
        return None
    text = head.decode("latin-1")
    request_line = _REQUEST_LINE.match(text)
    if request_line is None:
        return None
    start = request_line.end()
    if _FIELDS.fullmatch(text, start) is None:
        return None
    if start == len(text):  # no header lines, so no Content-Length
        return None
    lines = text[start:-2].split("\r\n")
    if len(lines) > MAX_FIELDS:
        return None
    # a token, a colon, then the value between optional whitespace (checked by _FIELDS)
    headers: CIMultiDict[str] = CIMultiDict(
        [(name, value.strip(" \t")) for name, _, value in (line.partition(":") for line in lines)]
    )
    if (  # one test each, not a generator's step per name
        "Transfer-Encoding" in headers
        or "Content-Encoding" in headers
        or "Expect" in headers
        or "Upgrade" in headers
    ):
        return None
    hosts = headers.getall("Host", ())
    if len(hosts) != 1 or _HOST.fullmatch(hosts[0]) is None:
        return None
    lengths = headers.getall("Content-Length", ())
    if len(lengths) != 1 or _DIGITS.fullmatch(lengths[0]) is None:
        return None
    close = False
    for value in headers.getall("Connection", ()):
        tokens = {token.strip().lower() for token in value.split(",")}
        if not tokens <= _CONNECTION_TOKENS:
            return None
        close = close or "close" in tokens
    kind, openai = _ROUTES[request_line.group(2)]
    return Head(request_line.group(1), kind, openai, headers, int(lengths[0]), close)
