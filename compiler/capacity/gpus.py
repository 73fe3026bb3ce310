"""GPU products an Environment may name (`gpu.product`) instead of writing `gpu.memoryGiB`.

The memory is what the driver reports (`nvidia-smi`'s total, in MiB), not the marketing figure: a
"24 GB" A10G shows 23,028 MiB (22.5 GiB), and vLLM's `gpu_memory_utilization` is a fraction of that
total. Sources: the totals listed in modal-labs/modal-client#2797 (H100, A100 80GB and 40GB, A10,
L40S, L4, T4) and an A10G's `nvidia-smi` in NVIDIA/DCGM#232.
"""

from __future__ import annotations

MIB = 1024 * 1024
GIB = 1024 * MIB

GPU_PRODUCTS_MIB: dict[str, int] = {
    "T4": 15360,
    "A10": 23028,
    "A10G": 23028,
    "L4": 23034,
    "L40S": 46068,
    "A100-40GB": 40960,
    "A100-80GB": 81920,
    "H100-80GB": 81559,
}


def product_memory_gib(product: str) -> float:
    return GPU_PRODUCTS_MIB[product] * MIB / GIB
