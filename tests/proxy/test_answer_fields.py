"""A model server's answer head is read by name with a lookup of the usual spellings first; on any
header lines, it reads what the plain rule says: a line is a name, a colon and a value; a name
with blanks around it is refused; names are compared in lower case; a repeated name's values are
joined, unless it is a Content-Length given two different values."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from llmops.proxy.upstream_pool import NotHttp, _fields


def _defined(lines: list[str]) -> dict[str, str] | None:
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip(" \t\r\n\x0b\x0c") or name != name.strip():
            return None
        name, value = name.lower(), value.strip()
        if name in headers:
            if name == "content-length" and headers[name] != value:
                return None
            headers[name] = f"{headers[name]}, {value}"
        else:
            headers[name] = value
    return headers


_NAMES = st.sampled_from(
    [
        *("Content-Type", "content-length", "CONTENT-LENGTH", "Date", "Server", "X-Id", "date "),
        *(" Date", "Transfer-Encoding", "Keep-Alive", "keep-alive", "", "Dåte", "Connection"),
    ]
)
_LINES = st.lists(
    st.tuples(
        _NAMES, st.sampled_from([":", ": ", "", ":  "]), st.sampled_from(["1", "2", " x ", ""])
    ),
    max_size=6,
)


@settings(max_examples=1500, deadline=None)
@given(_LINES)
def test_answer_header_lines_read_as_the_plain_rule_says(parts: list[tuple[str, str, str]]) -> None:
    lines = ["HTTP/1.1 200 OK", *(name + colon + value for name, colon, value in parts)]
    try:
        read: dict[str, str] | None = _fields(lines)
    except NotHttp:
        read = None
    assert read == _defined(lines)
