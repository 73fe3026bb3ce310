"""Writing a rendered stream to a process's standard output, whole or not at all.

What a render prints is what Argo CD applies (`llmops cmp generate`), so a stream cut short must
never end in success. Two ways it could: Python's text layer does not check how much an unbuffered
stream (`PYTHONUNBUFFERED`, which the project's image sets) took of a write, and loses the rest
when standard output does not block (a pipe set non-blocking by its reader); and what is still
buffered when the command returns is written as the interpreter exits, where a full disk or a
reader that went away no longer changes the exit code. So the stream's UTF-8 is written here,
through the binary stream under the text one, until every byte is taken (waiting while it would
block), and flushed before the command returns: an error is the command's own (`llmops.cli.main`
reports it). Parts the render cache kept as UTF-8 are written as they are, not decoded and encoded
again (26 MB for 1,000 endpoints x 3).
"""

from __future__ import annotations

import io
import os
import select
import sys
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from compiler.build import RenderOutput

Sink = io.RawIOBase | io.BufferedIOBase


class WholeWrites(io.RawIOBase):
    """A file descriptor that takes every byte of each write: it writes on after a partial write
    and waits while the descriptor would block, where a plain one returns what it took (which
    Python's text layer does not check) or raises."""

    def __init__(self, descriptor: int, name: object = None) -> None:
        super().__init__()
        self._descriptor = descriptor
        self.name = descriptor if name is None else name  # as `io.FileIO` names its stream

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._descriptor

    def isatty(self) -> bool:
        """Whether a terminal is written to: colours and screen updates depend on it."""
        return os.isatty(self._descriptor)

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        total = len(view)
        while view:
            try:
                view = view[os.write(self._descriptor, view) :]
            except BlockingIOError:
                select.select([], [self._descriptor], [])
            except OSError as error:  # a full disk: said with what could not be written
                if error.filename is None and not isinstance(error, BrokenPipeError):
                    error.filename = "standard output" if self.name == "<stdout>" else self.name
                raise
        return total


def whole_standard_output() -> None:
    """Give the process's standard output a `WholeWrites` under its text layer, buffered as it was
    (with `PYTHONUNBUFFERED`, not at all): every command's output then leaves whole or the command
    fails. Called once by the entry point of a process that runs one command."""
    out = sys.stdout
    if type(out) is not io.TextIOWrapper:
        return
    try:
        descriptor = out.fileno()
        out.flush()
    except (OSError, ValueError):
        return  # not a descriptor, or already failing: the command says so when it prints
    buffered = isinstance(out.buffer, io.BufferedIOBase)
    raw = WholeWrites(descriptor, getattr(out, "name", None))
    whole = io.TextIOWrapper(
        io.BufferedWriter(raw) if buffered else raw,
        encoding=out.encoding,
        errors=out.errors,
        line_buffering=out.line_buffering,
        write_through=out.write_through,
    )
    whole.mode = getattr(out, "mode", "w")  # type: ignore[misc]  # as `open` sets it
    sys.stdout = whole


def binary_sink(out: TextIO) -> Sink | None:
    """Where UTF-8 bytes written give exactly what ``out.write`` of their text gives, each write
    taken whole: under a plain UTF-8 `io.TextIOWrapper` (such as the process's standard output)
    that writes a line break as it is, its descriptor as a `WholeWrites` (below its buffer, when it
    has one: the buffer is flushed first), or an in-memory buffer. None for anything else (text is
    then written as text)."""
    if type(out) is not io.TextIOWrapper or os.linesep != "\n":
        return None
    if out.encoding.lower().replace("-", "").replace("_", "") != "utf8":
        return None
    buffer = out.buffer
    raw = buffer.raw if isinstance(buffer, io.BufferedWriter) else buffer
    if isinstance(raw, WholeWrites):
        return raw
    if isinstance(raw, io.RawIOBase):
        try:
            return WholeWrites(raw.fileno())
        except (OSError, ValueError):
            return None  # no descriptor under it
    return buffer if isinstance(buffer, io.BufferedIOBase) else None


def write_rendered_stream(output: RenderOutput, out: TextIO) -> None:
    """`RenderOutput.write_stream` to ``out``, every byte taken and flushed before it returns."""
    sink = binary_sink(out)
    if sink is None:
        output.write_stream(out)
        out.flush()
        return
    out.flush()  # what was written to it as text goes first
    errors = out.errors or "strict"
    for part in output.stream_parts or ():
        sink.write(part.encode("utf-8", errors) if isinstance(part, str) else part)
    sink.flush()
