"""Fast constructors for the core's frozen, slotted values (ticks, quotes, legs, ...).

A frozen dataclass's generated ``__init__`` sets each field through
``object.__setattr__`` (frozen classes forbid plain assignment): an ``Opportunity`` takes
about 3.5 us to build that way on the benchmark machine, more than the depth walk that
found it, and a ``Tick`` is built for every tick on both sides of Kafka. :func:`positional`
gives a constructor that writes the slots directly through their descriptors, about three
times faster, and the same object: equal, with the same ``repr``, hash and pickling
(``tests/test_construct.py`` and the tests of each user check the ones in use).

It lives in the core, beside ``model.py``, because every stage builds these values: the
venue books and ingest (quotes, ticks), the wire (ticks from records) and the scanner
(legs, opportunities).

Only for slotted, frozen dataclasses without ``__post_init__`` (nothing would run it), and
every field is passed, defaults included.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def positional(cls: type[T]) -> Callable[..., T]:
    """A constructor of ``cls`` taking every field positionally, in declaration order."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or not hasattr(cls, "__slots__"):
        raise TypeError(f"{cls.__name__} is not a frozen, slotted dataclass")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__, which positional() would skip")
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    for name in names:
        namespace[f"_set_{name}"] = getattr(cls, name).__set__
    body = "".join(f"    _set_{name}(o, {name})\n" for name in names)
    exec(f"def make({', '.join(names)}):\n    o = _new(_cls)\n{body}    return o\n", namespace)
    make: Callable[..., T] = namespace["make"]
    make.__qualname__ = make.__name__ = f"make_{cls.__name__}"
    return make
