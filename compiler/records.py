"""`record`: a frozen dataclass to the type checker, a plain one at run time.

`@dataclass(frozen=True)` makes Python generate a `__setattr__` and a `__delattr__` for each class,
each compiled from source text as the class is made, and set each field in `__init__` through
`object.__setattr__`. A record is the same class to mypy, which rejects every
assignment to its fields (strict type checking runs in CI), and at run time a dataclass without the
guard: hashable by its fields as a frozen one is (`unsafe_hash` when it compares by them, by
identity otherwise), but nothing stops an assignment that the type checker did not see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar, dataclass_transform, overload

_T = TypeVar("_T")


@overload
def record(cls: type[_T], /) -> type[_T]: ...


@overload
def record(
    *, eq: bool = True, repr: bool = True, slots: bool = False
) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(frozen_default=True)
def record(
    cls: type[_T] | None = None, /, *, eq: bool = True, repr: bool = True, slots: bool = False
) -> type[_T] | Callable[[type[_T]], type[_T]]:
    """`@record` or `@record(eq=False, ...)` where `@dataclass(frozen=True, ...)` would stand."""
    make = dataclass(eq=eq, repr=repr, slots=slots, unsafe_hash=eq)
    return make if cls is None else make(cls)
