"""A model server's stream, checked event by event as strictly as a whole answer.

A stream is relayed in whole server-sent events, each checked before it is passed on: the data of
every event must be strict JSON (llmops/proxy/jsonbody.py: no NaN, no nesting past 64 levels), or
exactly OpenAI's end marker `[DONE]` (so `data: [DONE]garbage` is not the end, and the text
`data: [DONE]` inside an event's JSON is not either). An event may be at most ``MAX_EVENT_BYTES``;
lines end in LF or CRLF. What comes after `[DONE]` is not relayed. Only the event being received is
held, never the stream.
"""

from __future__ import annotations

from typing import Final

from llmops.proxy.jsonbody import (
    NotJson,
    decided_by_orjson,
    is_plain_object,
    loads_utf8,
    orjson_object,
)

MAX_EVENT_BYTES: Final = 1024 * 1024
# what arrived is checked once for all its events (``decided_by_orjson``) up to this size; past it,
# each event alone (an event arriving in many pieces would be checked again with each)
SHARED_CHECK_BYTES = 64 * 1024
DONE: Final = b"[DONE]"


def _event_end(pending: bytearray, start: int) -> tuple[int, int] | None:
    """Where the first blank line at or after ``start`` begins and ends (an event ends with one: a
    line end, LF or CRLF, right after another), or None. Looks only at the line ends, one ``find``
    each: a regular expression with optional CRs scanned the rest of the buffer for every event."""
    size = len(pending)
    line_end = pending.find(b"\n", start)
    while line_end >= 0:
        after = line_end + 1
        if after < size and pending[after] == 0x0D:
            after += 1
        if after >= size:
            return None  # the next line end has not arrived yet
        if pending[after] == 0x0A:
            first = line_end - 1 if line_end > start and pending[line_end - 1] == 0x0D else line_end
            return first, after + 1
        line_end = pending.find(b"\n", line_end + 1)
    return None


class BadEvent(Exception):
    """An event the proxy does not relay: ``kind`` is a metrics label (`invalid_json`,
    `too_large`), ``message`` says what was wrong, for people."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


def _data(event: bytes) -> bytes | None:
    """The data of an event (its `data:` lines joined by newlines), or None when it has none (a
    comment, or only `event:`, `id:`, `retry:` lines)."""
    if event.startswith(b"data: ") and event.find(b"\n") < 0:  # most events: one data line
        return event[6:].removesuffix(b"\r")
    values = []
    for line in event.split(b"\n"):
        line = line.removesuffix(b"\r")
        if line.startswith(b"data:"):
            value = line[5:]
            values.append(value[1:] if value.startswith(b" ") else value)
    return b"\n".join(values) if values else None


def _excerpt(data: bytes) -> str:
    text = data[:120].decode("utf-8", "replace").replace("\n", " ")
    return text + ("…" if len(data) > 120 else "")


class EventStream:
    """Cuts the bytes of a stream into whole events and checks each (see the module docstring)."""

    def __init__(self) -> None:
        self.done = False
        # the event that ended the relay: the events before it are relayed, it and the rest not
        self.failure: BadEvent | None = None
        self._pending = bytearray()
        self._scanned = 0  # where the search for the next event's end resumes

    def _check(self, event: bytes) -> None:
        if len(event) > MAX_EVENT_BYTES:
            raise BadEvent("too_large", f"an event of more than {MAX_EVENT_BYTES} bytes")
        # most events: one data line holding an object
        if event.startswith(b"data: {") and event.find(b"\n") < 0 and is_plain_object(event, 6):
            return
        data = _data(event)
        if data is None:
            return
        if data.strip() == DONE:
            self.done = True
            return
        try:
            loads_utf8(data)
        except NotJson as error:
            raise BadEvent(
                "invalid_json", f"an event that is not JSON ({error.message}): {_excerpt(data)}"
            ) from None

    def feed(self, chunk: bytes) -> bytes:
        """The complete events ``chunk`` finishes, as received, up to and including `[DONE]`, or up
        to the first that is not strict JSON or too large to hold (then ``failure`` says which, and
        nothing more is returned)."""
        if self.done or self.failure is not None:
            return b""
        pending = self._pending
        pending += chunk
        ready = 0
        # without a CR, an event ends at the first LF LF: one ``find`` each (most streams)
        plain = pending.find(b"\r") < 0
        # most events are one `data:` line holding an object, checked by orjson alone when what
        # arrived needs no other check (its numbers and nesting looked at once for all events)
        shared = plain and len(pending) <= SHARED_CHECK_BYTES and decided_by_orjson(pending)
        while True:
            if plain:
                start = pending.find(b"\n\n", self._scanned)
                if start < 0:
                    break
                end = start + 2
            else:
                found = _event_end(pending, self._scanned)
                if found is None:
                    break
                start, end = found
            if not (
                shared
                and pending.startswith(b"data: {", ready)
                and pending.find(b"\n", ready, start) < 0
                and orjson_object(pending[ready + 6 : start])
            ):
                try:
                    self._check(bytes(pending[ready:start]))
                except BadEvent as bad:
                    self.failure = bad
                    break
            ready = self._scanned = end
            if self.done:
                break
        if self.failure is None and len(pending) - ready > MAX_EVENT_BYTES:
            self.failure = BadEvent("too_large", f"an event of more than {MAX_EVENT_BYTES} bytes")
        complete = bytes(pending[:ready])
        del pending[:ready]
        # a line end may be split across chunks: look again at the last 3 bytes
        self._scanned = max(0, len(pending) - 3)
        return complete

    @property
    def ended_at_done(self) -> bool:
        """`[DONE]` came and nothing after it has been received (so far)."""
        return self.done and not self._pending

    def finish(self) -> bytes:
        """The stream ended: a last event without the blank line after it still counts when it is
        `[DONE]` (returned, to relay); anything else unfinished is dropped."""
        if self.done or self.failure is not None or not self._pending.strip():
            return b""
        rest = bytes(self._pending)
        self._pending.clear()
        data = _data(rest)
        if data is not None and data.strip() == DONE:
            self.done = True
            return rest
        return b""
