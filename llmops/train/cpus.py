"""How many threads PyTorch should use: the CPUs the container may use, not the node's.

PyTorch sizes its thread pool from the machine's cores; in a pod limited to 4 CPUs on a 64-core node
that is 64 threads sharing 4 CPUs' worth of time, and the kernel throttles them to a crawl. The
limit is in the cgroup (v2 `cpu.max`, v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`); OMP_NUM_THREADS,
when set, is the user's choice.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def cpu_limit(cgroup: Path = CGROUP) -> int | None:
    """Whole CPUs the cgroup's quota allows (rounded up), or None when it sets no quota."""
    v2 = _read(cgroup / "cpu.max")
    if v2 is not None:
        quota, _, period = v2.partition(" ")
        if quota == "max" or not quota.isdigit() or not period.isdigit() or int(period) == 0:
            return None
        return max(1, math.ceil(int(quota) / int(period)))
    quota_v1, period_v1 = (
        _read(cgroup / "cpu" / "cpu.cfs_quota_us"),
        _read(cgroup / "cpu" / "cpu.cfs_period_us"),
    )
    if quota_v1 is None or period_v1 is None or not quota_v1.isdigit() or not period_v1.isdigit():
        return None  # no v1 quota either ("-1" is unlimited)
    return max(1, math.ceil(int(quota_v1) / int(period_v1))) if int(period_v1) else None


def torch_threads(environ: Mapping[str, str], cgroup: Path = CGROUP) -> int | None:
    """The thread count to give PyTorch, or None to leave its own choice (OMP_NUM_THREADS set)."""
    if environ.get("OMP_NUM_THREADS"):
        return None
    usable = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )
    limit = cpu_limit(cgroup)
    return max(1, min(usable, limit) if limit is not None else usable)
