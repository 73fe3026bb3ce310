"""The proxy pins glibc's mmap threshold.

glibc's malloc serves blocks above its mmap threshold (128 KiB) with their own mappings, returned
to the system when freed, but it raises the threshold to the size of every such block freed (up
to 32 MiB). The proxy frees such blocks all the time (answers arrive as the event loop reads them,
up to 256 KiB at once; a 2 MiB answer is joined whole), so after a few large answers every block
of hundreds of KiB comes from the heap, whose memory stays with the process. In the soak
(benchmarks/soak_proxy.py, 3,000 hostile and valid requests) resident memory settled at 100-111 MiB
and once grew 34 MiB after its warm-up; with the threshold pinned at glibc's default it stays at
64-69 MiB. ``MALLOC_MMAP_THRESHOLD_`` in the environment, glibc's own setting, is left to rule.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's default, kept instead of raised


def pin_mmap_threshold() -> bool:
    """Pin the threshold in this process (and the workers it forks). **Returns:** whether it was
    pinned: not on other systems or C libraries, nor when the environment sets it."""
    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
