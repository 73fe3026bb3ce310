"""Streams are checked as strictly as whole answers: every event's data is strict JSON or exactly
`[DONE]`, an event is bounded, nothing after `[DONE]` is relayed, and a compressed stream is bounded
once decoded. A bad event is not relayed: the stream ends with an error event."""

from __future__ import annotations

import json
import random
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmops.proxy.jsonbody import is_plain_object, loads
from llmops.proxy.sse import MAX_EVENT_BYTES, EventStream
from tests.helpers.loopback import CHUNK, FakeModelServer, call, serving
from tests.proxy.conftest import USER, document, endpoint

OPENAI = "/llm-ops/v1/serve/chat/v1/chat/completions"
STREAM = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
GOOD = (CHUNK % ("m", "w0 ")).encode()
DONE = b"data: [DONE]\n\n"


def _relay(proxy_for: Any, events: list[bytes], **options: Any) -> tuple[list[str], Any]:
    server = FakeModelServer(mode="stream_events", events=events)
    with serving(server):
        url = proxy_for(document(endpoint("chat", server.url)), **options)
        reply = call("POST", url + OPENAI, STREAM, headers=USER)
        metrics = call("GET", f"{url}/metrics").body.decode()
    assert reply.status == 200
    return [event for event in reply.body.decode().split("\n\n") if event], (server, metrics)


def _error(event: str) -> dict[str, Any]:
    assert event.startswith("data: ")
    error: dict[str, Any] = json.loads(event[6:])["error"]
    return error


@pytest.mark.parametrize(
    ("bad", "kind"),
    [
        (b'data: {"choices": [{"delta": {"content": NaN}}]}\n\n', "invalid_json"),
        (b'data: {"x": Infinity}\n\n', "invalid_json"),
        (b'data: {"x": 1e999}\n\n', "invalid_json"),
        (b"data: [DONE]garbage\n\n", "invalid_json"),
        (b"data: {not json\n\n", "invalid_json"),
        (b"data: " + b"[" * 100 + b"]" * 100 + b"\n\n", "invalid_json"),
        (b"data: \xff\xfe\n\n", "invalid_json"),
        (b'data: {"x": "\xed\xa0\x80"}\n\n', "invalid_json"),  # a surrogate as its bytes
        (b'data: {"x": "' + b"a" * (MAX_EVENT_BYTES + 10) + b'"}\n\n', "too_large"),
    ],
)
def test_a_bad_event_is_not_relayed_and_ends_the_stream(
    proxy_for: Any, bad: bytes, kind: str
) -> None:
    events, (_, metrics) = _relay(proxy_for, [GOOD, bad, GOOD, DONE])
    assert events[0] == GOOD.decode().strip()
    assert len(events) == 2, events[:3]
    error = _error(events[1])
    assert error["code"] == 502
    assert "sent an event" in error["message"]
    assert f'llmops_proxy_upstream_errors_total{{endpoint="chat",kind="{kind}"}} 1.0' in metrics


def test_nothing_after_done_is_relayed(proxy_for: Any) -> None:
    events, _ = _relay(proxy_for, [GOOD, DONE, b"data: {NaN}\n\n", GOOD])
    assert events == [GOOD.decode().strip(), "data: [DONE]"]


def test_comments_and_other_fields_pass(proxy_for: Any) -> None:
    extra = b": keep-alive\n\nevent: message\nid: 7\nretry: 10\n" + GOOD
    events, _ = _relay(proxy_for, [extra, b"data: [DONE]\r\n\r\n"])
    assert events[-1].startswith("data: [DONE]")
    assert not any("error" in event for event in events)


def test_a_compressed_stream_is_bounded_once_decoded(proxy_for: Any) -> None:
    server = FakeModelServer(mode="gzip_stream", bomb_bytes=64 * 1024 * 1024)
    with serving(server):
        url = proxy_for(document(endpoint("chat", server.url)), max_response_bytes=1024 * 1024)
        reply = call("POST", url + OPENAI, STREAM, headers=USER)
    assert reply.status == 200
    assert len(reply.body) <= 1024 * 1024 + 1024  # not 64 MiB
    error = _error(reply.body.decode().split("\n\n")[-2])
    assert "compressed stream of more than 1048576 bytes once decompressed" in error["message"]
    assert server.headers[-1]["Accept-Encoding"] == "identity"


# --- the event splitter on its own
# ---------------------------------------------------------------------


def _stream_bytes(contents: list[str], crlf: bool) -> bytes:
    end = b"\r\n\r\n" if crlf else b"\n\n"
    events = [b"data: " + json.dumps({"c": text}).encode() + end for text in contents]
    return b"".join(events) + b"data: [DONE]" + end


@given(
    contents=st.lists(st.text(max_size=30), max_size=20),
    crlf=st.booleans(),
    seed=st.integers(0, 2**32),
)
def test_events_come_out_whole_however_the_bytes_are_cut(
    contents: list[str], crlf: bool, seed: int
) -> None:
    data = _stream_bytes(contents, crlf)
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(len(data) + 1), min(len(data), rng.randint(0, 12))))
    stream, out = EventStream(), b""
    for start, stop in zip([0, *cuts], [*cuts, len(data)], strict=True):
        piece = stream.feed(data[start:stop])
        assert piece == b"" or piece.endswith((b"\n\n", b"\n\r\n"))
        out += piece
    out += stream.finish()
    assert out == data
    assert stream.done


def test_a_cut_event_is_never_relayed() -> None:
    stream = EventStream()
    assert stream.feed(GOOD + b'data: {"choices": [') == GOOD
    assert stream.finish() == b""
    assert not stream.done
    huge = EventStream()
    assert huge.feed(GOOD + b"data: " + b"x" * (MAX_EVENT_BYTES + 1)) == GOOD
    assert huge.failure is not None and huge.failure.kind == "too_large"
    assert huge.feed(DONE) == b""


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(
    value=st.dictionaries(st.text(max_size=5), JSONISH, max_size=4),
    tail=st.sampled_from(["", " ", "\r", "x", "}", ",1", "\n1}", "\u2028"]),
    cut=st.integers(0, 40),
)
def test_the_quick_check_of_an_event_never_passes_what_loads_refuses(
    value: dict[str, Any], tail: str, cut: int
) -> None:
    """Events are first checked by ``is_plain_object``; only what ``loads`` takes whole as an
    object may pass there, whatever is cut off or added."""
    text = json.dumps(value, ensure_ascii=cut % 2 == 0)
    for data in (text + tail, text[: len(text) - cut % (len(text) + 1)], "NaN" + text):
        event = b"data: " + data.encode("utf-8", "surrogatepass")
        if is_plain_object(event, 6):
            assert isinstance(loads(event[6:]), dict)


def test_a_data_line_continued_on_another_line_is_not_read_as_one_object() -> None:
    stream = EventStream()
    assert stream.feed(GOOD + b'data: {"a":\n1}\n\n' + DONE) == GOOD
    assert stream.failure is not None and stream.failure.kind == "invalid_json"


EVENT_DATA = st.sampled_from(
    [
        '{"choices": [{"delta": {"content": "w"}}]}',
        '{"n": 1234567890123456789012}',  # a run of 19 digits: the standard library decides
        '{"x": NaN}',
        '{"x": 1e999}',
        "[" * 40 + "]" * 40,
        "{" * 30 + "}" * 30,
        '{"a": ' * 70 + "1" + "}" * 70,  # too deep
        '{"a": 1}x',
        "[DONE]",
        "[1]",
        '"text"',
        '{"a":\n1}',
    ]
)


@given(events=st.lists(EVENT_DATA, min_size=1, max_size=8))
def test_events_arriving_together_are_judged_as_events_arriving_one_by_one(
    events: list[str],
) -> None:
    """What arrived is checked once for all its events: an event passes or fails as it would
    alone (a number, a nesting or a bracket count that needs a closer look in one event is looked
    at closely, whatever the other events hold)."""
    data = [f"data: {event}\n\n".encode() for event in events]
    together, one_by_one = EventStream(), EventStream()
    relayed = together.feed(b"".join(data))
    with patch("llmops.proxy.sse.SHARED_CHECK_BYTES", -1):  # each event checked by itself
        alone = b"".join(one_by_one.feed(event) for event in data)
    assert relayed == alone
    assert (together.done, together.failure and together.failure.kind) == (
        one_by_one.done,
        one_by_one.failure and one_by_one.failure.kind,
    )
