"""The one JSON converter between entities and the server's wire format (R-3).

Entities stay plain dataclasses; pydantic does the work: ``dumps`` serializes any entity (or
list/dict of them) and ``load`` rebuilds one from decoded JSON. Floats that JSON cannot
spell travel as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``.
"""

from __future__ import annotations

import functools
import math
from typing import Any, TypeVar

import pydantic_core
from pydantic import TypeAdapter

from shipyard.entities._ids import to_ms
from shipyard.entities.tracking import Metric

T = TypeVar("T")
NON_FINITE = ("NaN", "Infinity", "-Infinity")


def dumps(value: Any) -> bytes:
    """JSON bytes of entities, lists and dicts (datetimes ISO-8601, NaN/inf as strings)."""
    return pydantic_core.to_json(value, inf_nan_mode="strings")


def jsonable(value: Any) -> Any:
    """Like `dumps`, as plain Python values."""
    return pydantic_core.to_jsonable_python(value, inf_nan_mode="strings")


@functools.cache
def _adapter(tp: Any) -> TypeAdapter[Any]:
    return TypeAdapter(tp)


def load(tp: type[T] | Any, data: Any) -> T:
    """Rebuild a ``tp`` (an entity class, ``list[Run]``...) from decoded JSON."""
    # mypy does not see type[T] as Hashable (type objects are); the adapter returns Any
    return _adapter(tp).validate_python(data)  # type: ignore[arg-type,no-any-return]


def wire_float(value: float) -> float | str:
    """A float as JSON can carry it."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def metric_to_wire(m: Metric) -> dict[str, Any]:
    """The wire form of one point (timestamp as epoch milliseconds: compact and exact)."""
    return {"key": m.key, "value": wire_float(m.value), "step": m.step,
            "timestamp": to_ms(m.timestamp)}
