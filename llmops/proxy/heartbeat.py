"""Workers' heartbeats: each worker's event loop writes the time into its slot of memory shared with
the process that started it, once a second; that process kills a worker whose slot has not moved for
``--worker-timeout`` seconds. A worker whose loop is stuck (a handler that never yields, a deadlock,
a process stopped by SIGSTOP) still holds its listening socket, so the kernel keeps handing it new
connections that nobody answers; its exit code alone would never say so."""

from __future__ import annotations

import mmap
import struct
import time

# how often a worker's loop writes its slot
BEAT_SECONDS = 1.0
_SLOT = struct.Struct("d")  # time.monotonic(), one clock for every process of the machine


class Heartbeats:
    """One slot per worker, in an anonymous shared mapping made before the workers are forked: each
    worker writes its own slot only, the parent reads them all."""

    def __init__(self, workers: int) -> None:
        self._slots = mmap.mmap(-1, _SLOT.size * workers)  # MAP_SHARED: seen across fork()
        self.workers = workers

    def beat(self, worker: int) -> None:
        """Called by worker ``worker``'s event loop: it is alive now."""
        _SLOT.pack_into(self._slots, _SLOT.size * worker, time.monotonic())

    def last(self, worker: int) -> float:
        """When worker ``worker`` last beat (0.0: never)."""
        return float(_SLOT.unpack_from(self._slots, _SLOT.size * worker)[0])

    def silent(self, timeout: float, now: float | None = None) -> list[int]:
        """The workers that have beaten at least once and not for ``timeout`` seconds."""
        now = time.monotonic() if now is None else now
        return [worker for worker in range(self.workers) if 0.0 < self.last(worker) < now - timeout]

    def close(self) -> None:
        self._slots.close()
