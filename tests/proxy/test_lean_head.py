"""The proxy's own server checks a request head line by line with string methods, for speed. The
subset it serves is defined here once more by regular expressions over the whole head, the way it
was first written; on any head, valid or hostile, both must give the same verdict and the same
fields, or a head the proxy should leave to aiohttp could be served by a lax check."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmops.proxy.lean_head import _REQUEST_LINE, _ROUTES, HEAD_LIMIT, MAX_FIELDS, parse_head

_FIELDS = re.compile(r"(?:[!#$%&'*+.^_`|~0-9A-Za-z-]+:[\t -~]*\r\n)*")
_DIGITS = re.compile(r"[0-9]{1,15}")
_HOST = re.compile(r"[!-~]+")


def _defined(head: bytes) -> tuple[Any, ...] | None:
    """The subset by its definition: what ``parse_head`` must return, as a tuple."""
    if len(head) > HEAD_LIMIT:
        return None
    text = head.decode("latin-1")
    line = _REQUEST_LINE.match(text)
    if line is None or _FIELDS.fullmatch(text, line.end()) is None or line.end() == len(text):
        return None
    pairs = [
        (name.lower(), value.strip(" \t"))
        for name, _, value in (row.partition(":") for row in text[line.end() : -2].split("\r\n"))
    ]
    if len(pairs) > MAX_FIELDS:
        return None
    names = [name for name, _ in pairs]
    if {"transfer-encoding", "content-encoding", "expect", "upgrade"} & set(names):
        return None
    hosts = [value for name, value in pairs if name == "host"]
    lengths = [value for name, value in pairs if name == "content-length"]
    if len(hosts) != 1 or not _HOST.fullmatch(hosts[0]):
        return None
    if len(lengths) != 1 or not _DIGITS.fullmatch(lengths[0]):
        return None
    close = False
    for value in (value for name, value in pairs if name == "connection"):
        tokens = {token.strip().lower() for token in value.split(",")}
        if not tokens <= {"keep-alive", "close"}:
            return None
        close = close or "close" in tokens
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    kind, openai = _ROUTES[line.group(2)]
    return (line.group(1), kind, openai, fields, int(lengths[0]), close)


_NAMES = st.sampled_from(
    [
        "Host",
        "host",
        "HOST",
        "Content-Length",
        "content-length",
        "Connection",
        "Transfer-Encoding",
        "Expect",
        "Upgrade",
        "Content-Encoding",
        "X-User-Id",
        "X-Request-Id",
        "x_under.score",
        "a!#$%&'*+.^_`|~",
        "-",
        "",
        "X Y",
        "X\tY",
        "Caf\xe9",
        "Na\x00me",
        "Host ",
        " Host",
        "X:Y",
    ]
)
_CONTROL = ["\x00", "\x7f", "\x80", "\xe9", "\r", "\n", "\x0b"]
_VALUE_CHARS = st.sampled_from([*" \t!~az09,:;-", *_CONTROL])
_SAMPLES = ("p", "127.0.0.1:8080", "12", "0", "0x2", "1" * 16, "1" * 15, "keep-alive", "close")
_ODD_SAMPLES = ("Keep-Alive, close", "upgrade", " 7 ", "", "p q", "\tp\t", "a\tb", " x ")
_PLAIN_VALUES = st.sampled_from([*_SAMPLES, *_ODD_SAMPLES])
_PLAIN_LINES = st.one_of(
    st.tuples(st.sampled_from(["X-User-Id", "x-a", "Accept"]), _PLAIN_VALUES),
    st.tuples(st.just("Connection"), st.sampled_from(["close", " keep-alive", "Close,keep-alive"])),
)
_ANY_LINES = st.tuples(_NAMES, st.one_of(_PLAIN_VALUES, st.text(_VALUE_CHARS, max_size=12)))
# mostly plain lines, so that a head is often served and one odd line decides
_LINES = st.lists(st.one_of(*[_PLAIN_LINES] * 5, _ANY_LINES), max_size=5)
_REQUEST_LINES = st.sampled_from(
    [
        "POST /llm-ops/v1/serve/chat/chat HTTP/1.1\r\n",
        "POST /llm-ops/v1/serve/m-1.x/v1/chat/completions?a=b HTTP/1.1\r\n",
        "POST /llm-ops/v1/serve/m/v1/embeddings HTTP/1.1\r\n",
        "POST /llm-ops/v1/serve/m/v1/completions HTTP/1.1\r\n",
        "POST /llm-ops/v1/serve/m/completion HTTP/1.1\r\n",
        "POST /llm-ops/v1/serve/m/chat?\xe9 HTTP/1.1\r\n",
        "POST /llm-ops/v1/serve/m/chat HTTP/1.0\r\n",
        "POST /llm-ops/v1/serve/m/chat\r\nX: HTTP/1.1\r\n",  # the version only in a header line
        "POST /llm-ops/v1/serve/m/chat HTTP/1.1 HTTP/1.1\r\n",
        "POST /llm-ops/v1/serve/m/chat\rX HTTP/1.1\r\n",
    ]
)
# request lines put together from parts, each part mostly what the subset holds: the endpoint's
# name (its characters, its first one, its length), the route, and the query's characters
_ENDPOINT_NAMES = st.one_of(
    st.sampled_from(["m", "m-1.x", "a_b", "9", "x" * 253, "x" * 254, ".m", "_m", "-m", ""]),
    st.text("aZ09._-?#/ \t\xe9\xb2\x7f", min_size=1, max_size=6),
)
_ROUTE_NAMES = st.sampled_from([*_ROUTES, "chat/", "Chat", "v1/chat", ""])
_QUERIES = st.one_of(
    st.just(""),
    st.sampled_from(["?", "?a=b", "?a=b&c=%20", "?a#b", "?a\tb", "?a b", "?\x7f"]),
    st.text('a=&?#/ \t\r\n\x7f\xe9"!$~', max_size=6).map(lambda text: "?" + text),
)
_BUILT_LINES = st.builds(
    lambda name, route, query, version: f"POST /llm-ops/v1/serve/{name}/{route}{query}{version}",
    _ENDPOINT_NAMES,
    _ROUTE_NAMES,
    _QUERIES,
    st.sampled_from([" HTTP/1.1\r\n"] * 4 + [" HTTP/1.1\n", "  HTTP/1.1\r\n", " HTTP/1.1"]),
)
_REQUEST_LINES = st.one_of(_REQUEST_LINES, _BUILT_LINES)


# most heads hold the one Host and Content-Length the subset needs, so that the other lines decide
_NEEDED = st.tuples(
    st.sampled_from([" p"] * 6 + ["127.0.0.1:80", " p q", ""]),
    st.sampled_from([" 12"] * 8 + ["0", " " + "9" * 15, "9" * 16, "0x2", "-1", " "]),
).map(lambda values: [("Host", values[0]), ("Content-Length", values[1])])


@settings(max_examples=3000, deadline=None)
@given(
    _REQUEST_LINES,
    st.one_of(_NEEDED, _NEEDED, _NEEDED, st.just([])),
    _LINES,
    st.randoms(use_true_random=False),
    st.sampled_from(["\r\n"] * 5 + ["", "\n", "\r\n\r\n"]),
)
def test_the_line_by_line_check_serves_exactly_the_defined_subset(
    request_line: str,
    needed: list[tuple[str, str]],
    extra: list[tuple[str, str]],
    shuffle: Any,
    end: str,
) -> None:
    lines = needed + extra
    shuffle.shuffle(lines)
    text = request_line + "\r\n".join(f"{name}:{value}" for name, value in lines)
    head = (text + (end if lines else "")).encode("latin-1")
    parsed = parse_head(head)
    assert (None if parsed is None else parsed.fields()) == _defined(head)


def test_a_head_with_every_field_it_needs_is_served_with_lower_case_names() -> None:
    head = (
        b"POST /llm-ops/v1/serve/m/v1/chat/completions HTTP/1.1\r\nHost: p\r\n"
        b"X-User-Id: a\r\nx-user-id: b\r\nContent-Length: 12\r\nConnection: Keep-Alive\r\n"
    )
    parsed = parse_head(head)
    assert parsed is not None and parsed.fields() == _defined(head)
    assert parsed.headers["x-user-id"] == "a"  # the first of a repeated field, as aiohttp reads it
    assert (parsed.length, parsed.close) == (12, False)


@pytest.mark.parametrize(
    "request_line",
    [
        f"POST /llm-ops/v1/serve/{name}/{route}{query} HTTP/1.1\r\n"
        for name in [
            "m",
            "m-1.x",
            "a_b",
            "9",
            "x" * 253,
            "x" * 254,
            ".m",
            "_m",
            "-m",
            "",
            "caf\xe9",
        ]
        for route in ["chat", "v1/chat/completions", "Chat", "chat/"]
        for query in ["", "?", "?a=b", "?a#b", "?a\tb", "?a b", "?\x7f", "?\xe9", '?"!$~']
    ],
)
def test_request_lines_at_the_edges_of_the_subset(request_line: str) -> None:
    """Every part of the request line at and past the subset's edge, with header lines it serves:
    the line-by-line check and the definition agree."""
    head = (request_line + "Host: p\r\nContent-Length: 12\r\n").encode("latin-1")
    parsed = parse_head(head)
    assert (None if parsed is None else parsed.fields()) == _defined(head)
