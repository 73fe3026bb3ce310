"""A lean HTTP/1.1 keep-alive client for the proxy's calls to model servers.

aiohttp's client took about a third of the proxy's CPU per relayed request (a request object, a
payload object, a connector lookup, timers and a response object on every call). The proxy needs
little of that: it already holds the request body as bytes, sends a handful of fixed headers, and
reads answers whose framing is Content-Length, chunked, or the connection's end. So each pooled
connection is an ``asyncio.Protocol`` that writes the request head and body in one write and hands
the answer's body bytes to the caller as they arrive (``Reply``), with:

- the answer's body decoded when it is gzip or deflate, never past ``decoded_limit`` bytes (a small
  gzip body can expand a thousandfold), other codings passed on as they are;
- reading paused while more than ``BUFFER_BYTES`` of an answer wait for the caller, so a slow caller
  slows the model server instead of filling memory;
- at most ``cap`` connections open, idle ones closed after ``keepalive`` seconds; a connection goes
  back to the pool only when its answer was read to its end, well framed, and the server did not
  ask to close it (the caller decides the rest: ``Reply.release`` or ``Reply.close``).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import zlib
from collections import deque
from functools import lru_cache
from typing import Final, NamedTuple, cast

from yarl import URL

from llmops.proxy.lean_head import usual_spellings

BUFFER_BYTES: Final = 256 * 1024
MAX_HEAD_BYTES: Final = 64 * 1024
_NO_BODY: Final = frozenset({204, 304})
_HEX: Final = frozenset(b"0123456789abcdefABCDEF")
MAX_LENGTH_DIGITS: Final = 18  # a length no answer reaches, and no int() cost or error on the way
# a chunk's size line as servers write it: hex digits only (what the general parse reads the same)
_PLAIN_SIZE_LINE: Final = re.compile(rb"([0-9a-fA-F]{1,%d})\r\n" % MAX_LENGTH_DIGITS)


def _decimal(text: str) -> int | None:
    """A Content-Length as HTTP writes it (ASCII digits only: ``str.isdigit`` also takes "²",
    which ``int`` refuses), else None."""
    if 0 < len(text) <= MAX_LENGTH_DIGITS and text.isascii() and text.isdigit():
        return int(text)
    return None


class UpstreamFault(Exception):
    """The exchange with the model server failed; ``str()`` says how."""


class ConnectFailed(UpstreamFault):
    """No connection could be opened: ``error`` is the system's reason."""

    def __init__(self, error: OSError):
        super().__init__(str(error))
        self.error = error


class Disconnected(UpstreamFault):
    """The model server closed the connection before its answer was complete."""


class NotHttp(UpstreamFault):
    """The model server answered something this client does not read as HTTP/1.x."""


class DecodedTooLarge(UpstreamFault):
    """A compressed body decodes to more than the caller's ``decoded_limit``."""


class Target(NamedTuple):
    """Where a URL's requests go: the pool key, the Host header and the request target; ``line``
    is what a request's head holds after its method, up to its own header lines."""

    key: tuple[str, str, int]
    host_header: str
    path: str
    line: bytes


@lru_cache(maxsize=1024)
def target(url: str) -> Target:
    """Parsed once per URL (the proxy calls a few fixed URLs per endpoint)."""
    parsed = URL(url)
    scheme, host, port = parsed.scheme, parsed.raw_host or "", parsed.port or 80
    default = (scheme == "http" and port == 80) or (scheme == "https" and port == 443)
    shown_host = f"[{host}]" if ":" in host else host
    host_header = shown_host if default else f"{shown_host}:{port}"
    path = parsed.raw_path_qs or "/"
    line = f" {path} HTTP/1.1\r\nHost: {host_header}\r\n".encode("ascii")
    return Target((scheme, host, port), host_header, path, line)


class _Body:
    """Cuts the bytes after an answer's head into its body: by Content-Length, chunked, or up to
    the connection's end. ``feed`` returns the body bytes in the data and whether the body ended."""

    __slots__ = ("_buffer", "_chunk_left", "_length_left", "_mode", "_trailers", "overflow")

    def __init__(self, mode: str, length: int = 0):
        self._mode = mode  # "length", "chunked", "close"
        self.overflow = False  # bytes came after the body's end
        self._length_left = length
        self._buffer = bytearray()
        self._chunk_left = -1  # -1: a size line is due; -2: the CRLF after a chunk's data
        self._trailers = False

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        if self._mode == "length":
            if len(data) >= self._length_left:
                self.overflow = len(data) > self._length_left
                piece = data[: self._length_left]
                self._length_left = 0
                return piece, True
            self._length_left -= len(data)
            return data, False
        if self._mode == "close":
            return data, False
        return self._chunked(data)

    def _chunked(self, data: bytes) -> tuple[bytes, bool]:
        """Parsed in place by offset (most pieces hold whole chunks); only an unfinished size line,
        CRLF or trailer is kept for the next piece."""
        if self._buffer:
            self._buffer += data
            data = bytes(self._buffer)
            self._buffer.clear()
        out: list[bytes] = []
        at, size = 0, len(data)
        if self._chunk_left == -1 and not self._trailers:
            at = self._whole_chunks(data, out)
        while at < size:
            left = self._chunk_left
            if left > 0:  # inside a chunk's data
                take = min(left, size - at)
                out.append(data[at : at + take])
                at += take
                self._chunk_left = left - take if take < left else -2
                continue
            if left == -2:  # the CRLF after a chunk's data
                if size - at < 2:
                    break
                if data[at : at + 2] != b"\r\n":
                    raise NotHttp("a chunk not followed by CRLF")
                at += 2
                self._chunk_left = -1
                continue
            end = data.find(b"\r\n", at)
            if end < 0:
                break
            line = data[at:end]
            at = end + 2
            if self._trailers:  # after the last chunk: header lines up to an empty one
                if not line:
                    self.overflow = at < size
                    return b"".join(out), True
                continue
            size_text = line.split(b";", 1)[0].strip()
            # hex digits only: int() would also take "0x", "_", a sign and whitespace
            if not 0 < len(size_text) <= MAX_LENGTH_DIGITS or not _HEX.issuperset(size_text):
                raise NotHttp(f"a bad chunk size {size_text[:20]!r}")
            chunk_size = int(size_text, 16)
            if chunk_size == 0:
                self._trailers = True
                continue
            stop = at + chunk_size
            if stop + 2 > size:  # the chunk goes on in later pieces
                self._chunk_left = chunk_size
                continue
            if data[stop : stop + 2] != b"\r\n":  # the whole chunk is here: taken in one step
                raise NotHttp("a chunk not followed by CRLF")
            out.append(data[at:stop])
            at = stop + 2
        if at < size:
            self._buffer += data[at:]
            self._bounded(self._buffer)
        return b"".join(out), False

    @staticmethod
    def _whole_chunks(data: bytes, out: list[bytes]) -> int:
        """The chunks at the start of ``data`` that are here whole, with a size line of hex digits
        only, added to ``out`` (most pieces of a stream hold only such chunks: a few steps each
        here, rather than the general parse's); returns where the general parse resumes (a size
        line due), at anything else: an extension, the last chunk, a chunk that goes on."""
        at = 0
        match = _PLAIN_SIZE_LINE.match(data)
        while match is not None:
            start = match.end()
            stop = start + int(match[1], 16)
            if stop == start or data[stop : stop + 2] != b"\r\n":
                break
            out.append(data[start:stop])
            at = stop + 2
            match = _PLAIN_SIZE_LINE.match(data, at)
        return at

    @staticmethod
    def _bounded(buffer: bytearray) -> None:
        if len(buffer) > MAX_HEAD_BYTES:
            raise NotHttp("a chunk size or trailer line that does not end")

    @property
    def ends_with_connection(self) -> bool:
        return self._mode == "close"


class Reply:
    """A model server's answer: its head, and its body as it arrives."""

    __slots__ = (
        "_body",
        "_buffered",
        "_chunks",
        "_connection",
        "_decoded",
        "_decoded_limit",
        "_decoder",
        "_eof",
        "_error",
        "_waiter",
        "content_length",
        "content_type",
        "encoded",
        "headers",
        "keep_alive",
        "status",
    )

    def __init__(
        self,
        connection: _Connection,
        status: int,
        headers: dict[str, str],
        keep_alive: bool,
        decoded_limit: int,
    ):
        self._connection = connection
        self.status = status
        self.headers = headers
        self.keep_alive = keep_alive
        self.content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        length = headers.get("content-length")
        self.content_length = _decimal(length) if length is not None else None
        coding = headers.get("content-encoding")
        if coding is None:  # most answers
            self.encoded = False
            self._decoder = None
        else:
            coding = coding.strip().lower()
            self.encoded = coding not in ("", "identity")
            self._decoder = (
                zlib.decompressobj(wbits=47 if coding == "gzip" else zlib.MAX_WBITS)
                if coding in ("gzip", "x-gzip", "deflate")
                else None
            )
        self._decoded = 0
        self._decoded_limit = decoded_limit
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._eof = False
        self._error: UpstreamFault | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._body: _Body | None = None

    # -- fed by the connection --

    def _feed(self, data: bytes) -> None:
        if self._decoder is not None and data:
            room = self._decoded_limit - self._decoded
            try:
                data = self._decoder.decompress(data, room + 1)
            except zlib.error as error:
                self._fail(NotHttp(f"a body that cannot be decoded ({error})"))
                return
            self._decoded += len(data)
            if len(data) > room or self._decoder.unconsumed_tail:
                self._fail(DecodedTooLarge())
                return
        self._take(data)

    def _take(self, data: bytes) -> None:
        """Body bytes as decoded, for the caller."""
        if data:
            self._chunks.append(data)
            self._buffered += len(data)
            if self._buffered > BUFFER_BYTES:
                self._connection.pause()
            self._wake()

    def _end(self) -> None:
        self._eof = True
        self._wake()

    def _fail(self, error: UpstreamFault) -> None:
        if self._error is None and not self._eof:
            self._error = error
            self._connection.abandon()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- read by the caller --

    def is_eof(self) -> bool:
        return self._eof and not self._chunks

    def read_nowait(self) -> bytes:
        """What has arrived and not been read (b"" when nothing has). **Raises:**
        ``UpstreamFault`` when the body failed and nothing is left to read."""
        if not self._chunks:
            if self._error is not None:
                raise self._error
            return b""
        data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        self._chunks.clear()
        self._buffered = 0
        self._connection.resume()
        return data

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the answer arrives on."""
        return self._connection.loop

    async def readany(self) -> bytes:
        """The next bytes of the body; b"" at its end. **Raises:** ``UpstreamFault``."""
        while not self._chunks and not self._eof and self._error is None:
            self._waiter = self._connection.loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self.read_nowait()

    def release(self) -> None:
        """Done with the answer: its connection goes back to the pool when the body was read to
        its end and may carry another request, else it is closed."""
        self._connection.finished(self._eof and not self._chunks and self.keep_alive)

    def close(self) -> None:
        """Done with the answer, its connection closed (an unfinished generation is cancelled)."""
        self._connection.finished(False)


# the header names model servers send most, as they spell them, to their lower case
_COMMON: Final = (
    "connection",
    "content-encoding",
    "content-length",
    "content-type",
    "date",
    "keep-alive",
    "server",
    "transfer-encoding",
)
_SPELLED: Final = usual_spellings(_COMMON)


def _fields(lines: list[str]) -> dict[str, str]:
    """The header lines of an answer's head (after its status line), by lower-case name; a name
    given twice has its values joined by ", ". **Raises:** ``NotHttp`` for a malformed line or two
    different Content-Lengths."""
    # A plain loop: compiled, it costs a third of what ``map`` over each step did (which was the
    # faster of the two for the interpreter).
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        known = _SPELLED.get(name)  # most names: a common one as servers write it
        if known is not None and colon:
            name = known
        elif not colon or not name or name[0] in " \t" or name != name.strip():
            raise NotHttp(f"a malformed header line {line[:60]!r}")
        else:
            name = name.lower()
        value = value.strip()
        if name in headers:
            if name == "content-length" and headers[name] != value:
                raise NotHttp("two different Content-Length headers")
            headers[name] = f"{headers[name]}, {value}"
        else:
            headers[name] = value
    return headers


def _answer_head(block: bytes) -> tuple[str, int, dict[str, str]]:
    """An answer head's HTTP version, status and header fields (``block``: up to its blank line).
    **Raises:** ``NotHttp``."""
    lines = block.decode("latin-1").split("\r\n")
    version, _, rest_of_line = lines[0].partition(" ")
    status_text = rest_of_line[:3]
    status = _decimal(status_text) if len(status_text) == 3 else None
    if not version.startswith("HTTP/1.") or status is None or status < 100:
        raise NotHttp(f"an answer that is not HTTP/1.x: {lines[0][:60]!r}")
    return version, status, _fields(lines)


class _Connection(asyncio.Protocol):
    """One connection to a model server, carrying one request at a time."""

    def __init__(self, pool: UpstreamPool, key: tuple[str, str, int]):
        self.pool = pool
        self.loop = pool.loop  # the pool's, looked up once per connection
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.idle_since = 0.0
        self.closed = False
        self._head = bytearray()
        self._head_waiter: asyncio.Future[Reply] | None = None
        self._answer: Reply | None = None
        self._decoded_limit = 0
        self._method = "GET"
        self._paused = False

    # -- asyncio's callbacks --

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        answer = self._answer
        try:
            if answer is None:
                if self._head_waiter is None:  # nothing asked: the connection is out of step
                    self.abandon()
                    return
                data = self._read_head(data)
                answer = self._answer
                if answer is None:
                    return
            body = answer._body
            if body is None or answer._eof or answer._error is not None:
                if data:  # bytes after the answer: the connection cannot carry another
                    answer.keep_alive = False
                return
            piece, ended = body.feed(data)
            if piece:
                answer._feed(piece)
            if ended:
                if body.overflow:
                    answer.keep_alive = False
                self._ended(answer)
        except UpstreamFault as fault:
            self._fault(fault)

    def eof_received(self) -> bool:
        self.closed = True  # the server sends nothing more: no other request can use it
        answer = self._answer
        if answer is not None and answer._body is not None and answer._body.ends_with_connection:
            answer.keep_alive = False
            self._ended(answer)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fault(Disconnected(str(exc) if exc else "the connection was closed"))
        self.pool._lost(self)

    def pause_writing(self) -> None:  # request bodies are bounded and already held: no wait
        pass

    def resume_writing(self) -> None:
        pass

    # -- the exchange --

    def send(
        self, method: str, target: Target, headers: bytes, body: bytes | None, decoded_limit: int
    ) -> asyncio.Future[Reply]:
        assert self.transport is not None
        self._method = method
        self._decoded_limit = decoded_limit
        self._head.clear()
        self._answer = None
        self._head_waiter = self.loop.create_future()
        if self.closed or self.transport.is_closing():
            raise Disconnected("the connection was closed")
        verb = method.encode("ascii")
        if body is None:
            self.transport.write(b"%b%b%b\r\n" % (verb, target.line, headers))
        else:
            self.transport.write(
                b"%b%bContent-Length: %d\r\n%b\r\n%b"
                % (verb, target.line, len(body), headers, body)
            )
        return self._head_waiter

    def _read_head(self, data: bytes) -> bytes:
        """Parse the answer's head once it is complete; returns the bytes after it. A head that
        came whole in one piece (most) is read from that piece, without the buffer's copies."""
        head = self._head
        while True:
            if head:
                head += data
                end = head.find(b"\r\n\r\n")
                if end < 0:
                    if len(head) > MAX_HEAD_BYTES:
                        raise NotHttp(f"an answer head of more than {MAX_HEAD_BYTES} bytes")
                    return b""
                block, data = bytes(head[:end]), bytes(head[end + 4 :])
                head.clear()
            else:
                end = data.find(b"\r\n\r\n")
                if end < 0:
                    if len(data) > MAX_HEAD_BYTES:
                        raise NotHttp(f"an answer head of more than {MAX_HEAD_BYTES} bytes")
                    head += data
                    return b""
                block, data = data[:end], data[end + 4 :]
            version, status, headers = _answer_head(block)
            if 100 <= status < 200:  # 100 Continue and the like: the answer follows
                continue
            self._start_answer(version, status, headers)
            return data

    def _start_answer(self, version: str, status: int, headers: dict[str, str]) -> None:
        connection = headers.get("connection")
        if connection is None:  # most answers: HTTP/1.1 keeps the connection, HTTP/1.0 does not
            keep_alive = version == "HTTP/1.1"
        else:
            tokens = {token.strip().lower() for token in connection.split(",")}
            keep_alive = "close" not in tokens if version == "HTTP/1.1" else "keep-alive" in tokens
        answer = Reply(self, status, headers, keep_alive, self._decoded_limit)
        encoding = headers.get("transfer-encoding")
        length = headers.get("content-length")
        if self._method == "HEAD" or status in _NO_BODY:
            body = None
        elif encoding is not None:
            chunked = encoding.rsplit(",", 1)[-1].strip().lower() == "chunked"
            body = _Body("chunked") if chunked else _Body("close")
            if length is not None:  # both: the framing is in doubt, use it only once
                answer.keep_alive = False
        elif length is not None:
            size = answer.content_length  # the header's value, read as _decimal reads it
            if size is None:
                raise NotHttp(f"a bad Content-Length {length[:20]!r}")
            body = _Body("length", size) if size else None
        else:
            body = _Body("close")
        if body is not None and body.ends_with_connection:
            answer.keep_alive = False
        answer._body = body
        self._answer = answer
        if body is None:
            self._ended(answer)
        waiter = self._head_waiter
        self._head_waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)

    def _ended(self, answer: Reply) -> None:
        if answer._error is not None:
            return
        decoder = answer._decoder
        if decoder is not None:  # every input byte was decoded within the limit: little is left
            try:
                rest = decoder.flush()
            except zlib.error as error:
                answer._fail(NotHttp(f"a body that cannot be decoded ({error})"))
                return
            answer._decoded += len(rest)
            if answer._decoded > answer._decoded_limit:
                answer._fail(DecodedTooLarge())
                return
            answer._take(rest)
        answer._end()

    def _fault(self, fault: UpstreamFault) -> None:
        waiter = self._head_waiter
        self._head_waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_exception(fault)
            self.abandon()
        if self._answer is not None:
            self._answer._fail(fault)

    # -- flow and lifetime --

    def pause(self) -> None:
        if not self._paused and self.transport is not None and not self.closed:
            self._paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        if self._paused and self.transport is not None and not self.closed:
            self._paused = False
            self.transport.resume_reading()

    def abandon(self) -> None:
        """Close the connection: whatever it was doing cannot be trusted to end cleanly."""
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()

    def finished(self, reusable: bool) -> None:
        answer = self._answer
        self._answer = None
        if answer is not None:
            answer._waiter = None
        if reusable and not self.closed and not self._paused:
            self.pool._keep(self)
        else:
            self.abandon()


class UpstreamPool:
    """Keep-alive connections to model servers, at most ``cap`` open at once, idle ones closed after
    ``keepalive`` seconds."""

    def __init__(self, cap: int, keepalive: float):
        self.cap = cap
        self.keepalive = keepalive
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._open: set[_Connection] = set()
        self._opening = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._sweep: asyncio.TimerHandle | None = None
        self._tls: ssl.SSLContext | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def open_count(self) -> int:
        return len(self._open)

    async def request(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: bytes,
        connect_timeout: float,
        decoded_limit: int,
    ) -> Reply:
        """Send a request (``headers``: its extra header lines, each ending in CRLF) and wait for
        the answer's head. The caller must ``release`` or ``close`` the answer. **Raises:**
        ``UpstreamFault``; ``TimeoutError`` when connecting took ``connect_timeout``."""
        where = target(url)
        connection = await self._connection(where.key, connect_timeout)
        try:
            return await connection.send(method, where, headers, body, decoded_limit)
        except BaseException:
            connection.abandon()
            raise

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the pool's connections live on: the one it is first used on (a lookup
        of the running loop costs a system call on Python 3.11)."""
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        return loop

    async def _connection(self, key: tuple[str, str, int], connect_timeout: float) -> _Connection:
        loop = self.loop
        idle = self._idle.get(key)
        now = loop.time()
        while idle:
            connection = idle.pop()
            if not connection.closed and now - connection.idle_since < self.keepalive:
                return connection
            connection.abandon()
        while len(self._open) + self._opening >= self.cap:
            if not self._close_oldest_idle():
                waiter = loop.create_future()
                self._waiters.append(waiter)
                try:
                    await waiter
                except BaseException:
                    if waiter.done() and not waiter.cancelled():  # woken, then cancelled: pass
                        self._wake_one()  # the turn on
                    raise
                finally:
                    with contextlib.suppress(ValueError):
                        self._waiters.remove(waiter)
                idle = self._idle.get(key)
                if idle:
                    return await self._connection(key, connect_timeout)
        scheme, host, port = key
        self._opening += 1
        try:
            async with asyncio.timeout(connect_timeout):
                _, protocol = await loop.create_connection(
                    lambda: _Connection(self, key),
                    host,
                    port,
                    ssl=self._tls_context() if scheme == "https" else None,
                )
        except OSError as error:
            raise ConnectFailed(error) from None
        finally:
            self._opening -= 1
        self._open.add(protocol)
        return protocol

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    def _close_oldest_idle(self) -> bool:
        oldest: _Connection | None = None
        for connections in self._idle.values():
            if connections and (oldest is None or connections[0].idle_since < oldest.idle_since):
                oldest = connections[0]
        if oldest is None:
            return False
        self._idle[oldest.key].remove(oldest)
        oldest.abandon()
        self._open.discard(oldest)
        return True

    def _keep(self, connection: _Connection) -> None:
        loop = self.loop
        connection.idle_since = loop.time()
        self._idle.setdefault(connection.key, []).append(connection)
        if self._sweep is None:
            self._sweep = loop.call_later(self.keepalive, self._sweep_idle)
        self._wake_one()

    def _sweep_idle(self) -> None:
        self._sweep = None
        loop = self.loop
        now = loop.time()
        earliest: float | None = None
        for connections in self._idle.values():
            for connection in list(connections):
                if now - connection.idle_since >= self.keepalive:
                    connections.remove(connection)
                    connection.abandon()
                elif earliest is None or connection.idle_since < earliest:
                    earliest = connection.idle_since
        if earliest is not None:
            self._sweep = loop.call_later(earliest + self.keepalive - now, self._sweep_idle)

    def _lost(self, connection: _Connection) -> None:
        self._open.discard(connection)
        idle = self._idle.get(connection.key)
        if idle and connection in idle:
            idle.remove(connection)
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def close(self) -> None:
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        for connection in list(self._open):
            connection.abandon()
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports close
