"""A numeric field's range in words, from its constraints: for the field reference and for
diagnostics' hints."""

from __future__ import annotations

import annotated_types
from pydantic.fields import FieldInfo


def _number(value: object) -> str:
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:,}"
    return str(value)


def field_range(field: FieldInfo) -> str | None:
    """`1 to 1,000`, `at least 0`, `more than 0`..., or None for a field without numeric bounds."""
    low = high = None
    documented = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if "minimum" in documented:
        low = _number(documented["minimum"])
    if "maximum" in documented:
        high = _number(documented["maximum"])
    for constraint in field.metadata:
        if isinstance(constraint, annotated_types.Ge):
            low = _number(constraint.ge)
        elif isinstance(constraint, annotated_types.Gt):
            low = f"more than {_number(constraint.gt)}"
        elif isinstance(constraint, annotated_types.Le):
            high = _number(constraint.le)
        elif isinstance(constraint, annotated_types.Lt):
            high = f"less than {_number(constraint.lt)}"
    if low is None and high is None:
        return None
    if high is None:
        return f"at least {low}" if not str(low).startswith("more") else str(low)
    if low is None:
        return f"at most {high}" if not high.startswith("less") else high
    return f"{low} to {high}"
