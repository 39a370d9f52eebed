"""Id types and time helpers shared by every entity module."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import NewType, overload

ExperimentId = NewType("ExperimentId", str)
RunId = NewType("RunId", str)


def new_id() -> str:
    """A 32-character lowercase hex id (uuid4)."""
    return uuid.uuid4().hex


def utc_now() -> datetime:
    """Timezone-aware now; naive datetimes never enter Shipyard."""
    return datetime.now(UTC)


def to_ms(value: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    return int(value.timestamp() * 1000)


@overload
def from_ms(value: int) -> datetime: ...
@overload
def from_ms(value: None) -> None: ...
@overload
def from_ms(value: int | None) -> datetime | None: ...
def from_ms(value: int | None) -> datetime | None:
    """Aware UTC datetime from epoch milliseconds (None stays None)."""
    if value is None:
        return None
    return datetime.fromtimestamp(value / 1000, tz=UTC)
