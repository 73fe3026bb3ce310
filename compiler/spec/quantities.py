"""CPU and memory amounts: Kubernetes quantities, within what one pod on one node can really get.

The pattern alone accepts `0.0000001` CPUs (which Kubernetes rounds up to `1m`), `500m` of memory
(half a byte) or a thousand-digit number; each is a typo that renders without complaint and fails,
or silently means something else, in the cluster. The ranges below are real-world bounds of one
node.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from compiler.spec.formats import FormatName

QUANTITY_PATTERN = r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"
MAX_QUANTITY_LENGTH = 32
_QUANTITY = re.compile(QUANTITY_PATTERN[1:-1])
_SCALE = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}

MIN_CPU_CORES = Decimal("0.001")  # Kubernetes counts CPU in millicores
MAX_CPU_CORES = 1024  # more cores than any single machine has today
MIN_MEMORY = "1Mi"
MAX_MEMORY = "64Ti"  # more memory than any single machine has today


def quantity_value(text: str) -> Decimal | None:
    """The exact amount a quantity denotes (cores, or bytes), or None if it is not one llmops
    accepts."""
    if len(text) > MAX_QUANTITY_LENGTH:
        return None
    match = _QUANTITY.fullmatch(text)
    if match is None:
        return None
    suffix = match.group(2) or ""
    return Decimal(text[: len(text) - len(suffix)]) * _SCALE[suffix]


def _bound(text: str) -> Decimal:
    amount = quantity_value(text)
    assert amount is not None, text
    return amount


# computed once, not for each memory size validated
_LEAST_MEMORY, _MOST_MEMORY = _bound(MIN_MEMORY), _bound(MAX_MEMORY)


def _refuse(written: str, rule: str) -> PydanticCustomError:
    return PydanticCustomError("quantity", "must be {rule}", {"written": written, "rule": rule})


def _cpu(text: str) -> str:
    cores = quantity_value(text)
    rule = (
        f"a CPU amount from 1m to {MAX_CPU_CORES} cores, in whole millicores (such as `4`, `0.5` "
        "or `500m`)"
    )
    if cores is None or not MIN_CPU_CORES <= cores <= MAX_CPU_CORES or cores % MIN_CPU_CORES != 0:
        raise _refuse(text, rule)
    return text


def _memory(text: str) -> str:
    amount = quantity_value(text)
    if amount is None or not _LEAST_MEMORY <= amount <= _MOST_MEMORY:
        raise _refuse(
            text, f"a memory size from {MIN_MEMORY} to {MAX_MEMORY} (such as `16Gi` or `512Mi`)"
        )
    return text


_SCHEMA = WithJsonSchema(
    {"type": "string", "pattern": QUANTITY_PATTERN, "maxLength": MAX_QUANTITY_LENGTH}
)
CpuQuantity = Annotated[str, FormatName("CPU quantity"), AfterValidator(_cpu), _SCHEMA]
MemoryQuantity = Annotated[str, FormatName("memory quantity"), AfterValidator(_memory), _SCHEMA]
