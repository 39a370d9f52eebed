"""Tracking entities: experiments, runs, params, metrics, artifacts and dataset inputs.

Plain frozen dataclasses with no I/O; (de)serialization lives in ``shipyard._internal.convert``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

ParamValue = str | int | float | bool | None
T = TypeVar("T")


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    KILLED = "killed"

    @property
    def is_terminal(self) -> bool:
        return self is not RunStatus.RUNNING


class Lifecycle(enum.StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True, kw_only=True)
class Experiment:
    id: str
    name: str
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    lifecycle: Lifecycle = Lifecycle.ACTIVE
    created_at: datetime
    deleted_at: datetime | None = None
    created_by: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Metric:
    """One point of a metric series. ``value`` may be NaN or +/-inf."""

    key: str
    value: float
    step: int = 0
    timestamp: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class RunContext:
    """Where and with what a run was produced (captured at start)."""

    user: str | None = None
    source: str | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None
    python_version: str | None = None
    packages: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    id: str
    experiment_id: str
    name: str
    status: RunStatus
    start_time: datetime
    end_time: datetime | None = None
    context: RunContext = field(default_factory=RunContext)
    parent_id: str | None = None
    description: str = ""
    error: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, ParamValue] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    """Latest value (highest step, then newest timestamp) of each metric."""
    lifecycle: Lifecycle = Lifecycle.ACTIVE
    deleted_at: datetime | None = None
    heartbeat_at: datetime | None = None
    created_by: str | None = None

    @property
    def duration_s(self) -> float | None:
        if self.end_time is None:
            return None
        return (self.end_time - self.start_time).total_seconds()


@dataclass(frozen=True, slots=True, kw_only=True)
class ArtifactInfo:
    """A stored artifact file: path relative to the run, size in bytes and SHA-256."""

    path: str
    size: int
    sha256: str
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DatasetInput:
    """A dataset a run consumed, for lineage."""

    name: str
    digest: str
    source: str | None = None
    schema: dict[str, str] = field(default_factory=dict)
    num_rows: int | None = None
    context: str | None = None
    """Role of the dataset in the run: training, validation, test, ..."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str | None = None
