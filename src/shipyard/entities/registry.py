"""Model registry entities: registered models, versions, aliases, lineage and audit events.

Plain frozen dataclasses with no I/O. A version's ``signature`` is kept in its JSON form (see
``shipyard.models.signature_from_dict``) so this module needs nothing from packaging.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shipyard.entities.tracking import DatasetInput


class VersionStatus(enum.StrEnum):
    READY = "ready"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisteredModel:
    """A named model; its versions are numbered 1, 2, 3, ... in registration order."""

    name: str
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    created_at: datetime
    updated_at: datetime
    created_by: str | None = None
    aliases: dict[str, int] = field(default_factory=dict)
    """Alias -> version number."""
    latest_version: int | None = None
    """Highest version that is not deleted."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Lineage:
    """Where a version comes from: run -> datasets -> code version (captured at registration)."""

    run_id: str | None = None
    experiment_id: str | None = None
    datasets: tuple[DatasetInput, ...] = ()
    git_commit: str | None = None
    git_dirty: bool | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelVersion:
    """One registered version: it points at a model package in a run's artifacts."""

    name: str
    version: int
    run_id: str | None
    artifact_path: str
    """Folder of the package inside the run's artifacts."""
    flavor: str
    signature: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    """Snapshot of the run's latest metrics at registration."""
    tags: dict[str, str] = field(default_factory=dict)
    description: str = ""
    status: VersionStatus = VersionStatus.READY
    lineage: Lineage = field(default_factory=Lineage)
    created_at: datetime
    created_by: str | None = None
    deleted_at: datetime | None = None
    aliases: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelAlias:
    """A movable name for one version (``champion``, ``challenger``, ...).

    ``revision`` grows by one on every move; a move that names the revision it read fails
    with `AliasConflictError` if someone else moved the alias in between."""

    name: str
    alias: str
    version: int
    revision: int
    updated_at: datetime
    updated_by: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEvent:
    """One entry of the audit trail: who did what to which target, when, and the details
    (``from``/``to`` values, ``reason``, ``outcome``)."""

    id: int
    at: datetime
    actor: str | None
    action: str
    target_type: str
    target_id: str
    detail: dict[str, Any] = field(default_factory=dict)
