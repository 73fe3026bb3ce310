"""A model server's chunked answer is cut into its body by llmops/proxy/upstream_pool.py: whole
chunks with a plain size line by a short path, anything else (a chunk cut between reads, an
extension, an odd size line) by the general parse. However the bytes arrive, the body read, or the
refusal, must be the same."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from llmops.proxy.upstream_pool import NotHttp, _Body

_PAYLOADS = st.binary(max_size=40)
_ODD_SIZES = ("0x{:x}", "+{:x}", " {:x}", "{:x} ", "{:x};ext=1", "{:x}_", "", "0" * 18 + "{:x}")
_SIZE_LINES = st.sampled_from(["{:x}", "{:X}", "{:04x}", "0" * 17 + "{:x}", *_ODD_SIZES])
_ENDS = st.sampled_from([b"\r\n", b"\r\n", b"\r\n", b"\n", b"", b"xx"])


@st.composite
def _chunked(draw: st.DrawFn) -> bytes:
    parts = []
    for payload in draw(st.lists(_PAYLOADS, max_size=6)):
        line = draw(_SIZE_LINES).format(len(payload)).encode()
        parts.append(line + b"\r\n" + payload + draw(_ENDS))
    if draw(st.booleans()):
        parts.append(b"0\r\n" + draw(st.sampled_from([b"\r\n", b"X-T: 1\r\n\r\n", b""])))
    return b"".join(parts) + draw(st.binary(max_size=4))


def _read(pieces: list[bytes]) -> tuple[bytes, bool] | str:
    body = _Body("chunked")
    taken = []
    try:
        for piece in pieces:
            out, ended = body.feed(piece)
            taken.append(out)
            if ended:
                return b"".join(taken), True
    except NotHttp as refused:
        return str(refused)
    return b"".join(taken), False


@settings(max_examples=1000, deadline=None)
@given(_chunked(), st.lists(st.integers(min_value=0, max_value=400), max_size=5))
def test_a_chunked_body_reads_the_same_however_it_arrives(data: bytes, cuts: list[int]) -> None:
    points = sorted({min(cut, len(data)) for cut in cuts})
    bounds = zip([0, *points], [*points, len(data)], strict=True)
    pieces = [data[start:stop] for start, stop in bounds]
    assert _read([piece for piece in pieces if piece]) == _read([data])
