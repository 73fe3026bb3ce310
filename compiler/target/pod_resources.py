"""Pod resources llmops renders when a manifest leaves them out, and memory quantities in bytes.

One place for both the renderer (which writes the defaults) and the capacity checks (which compare
them with what a model needs), so the two never disagree.
"""

from __future__ import annotations

import re

# Per replica of a serving endpoint, keyed by "uses GPUs". A CPU replica's memory is the model's
# need when its size is known (compiler/capacity/endpoint.py: derived_cpu_memory); this 16Gi only
# when it is not.
ENDPOINT_DEFAULT_RESOURCES = {
    False: {"cpu": "4", "memory": "16Gi"},
    True: {"cpu": "8", "memory": "32Gi"},
}
TRAINING_DEFAULT_RESOURCES = {"cpu": "2", "memory": "8Gi"}

_SUFFIX = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
    "m": 10**-3,
}
_QUANTITY = re.compile(r"([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?")


def memory_bytes(quantity: str) -> float:
    """`16Gi` -> 17179869184.0; the forms the spec's quantity pattern accepts (it validated
    them)."""
    match = _QUANTITY.fullmatch(quantity)
    if match is None:
        raise ValueError(f"not a Kubernetes quantity: {quantity!r}")
    return float(match.group(1)) * _SUFFIX[match.group(2) or ""]
