"""Registry ports: registered models, versions and aliases (`ModelStore`), and the audit trail
shared by every subsystem (`AuditStore`).

They are separate from `MetadataStore` so a backend can add them on its own schedule; the
SQL backend implements both. Contract tests: ``shipyard.testing.contracts.registry``.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from shipyard.entities.registry import (
    AuditEvent,
    Lineage,
    ModelAlias,
    ModelVersion,
    RegisteredModel,
)
from shipyard.stores.metadata import UNSET


class ModelStore(abc.ABC):
    """Registered models, their numbered versions and movable aliases.

    Every write is atomic per call. Names and values are validated by the service; stores
    trust them.
    """

    # -- registered models ------------------------------------------------------------
    @abc.abstractmethod
    def create_registered_model(
        self, name: str, *, description: str = "", tags: Mapping[str, str] | None = None,
        created_by: str | None = None,
    ) -> RegisteredModel:
        """Create an empty model. Raises `ModelAlreadyExistsError` if the name is taken."""

    @abc.abstractmethod
    def get_registered_model(self, name: str) -> RegisteredModel:
        """The model with its aliases and latest live version. Raises `ModelNotFoundError`."""

    @abc.abstractmethod
    def list_registered_models(self, *, max_results: int = 100,
                               offset: int = 0) -> list[RegisteredModel]:
        """Models ordered by name (stable pages)."""

    @abc.abstractmethod
    def update_registered_model(
        self, name: str, *, description: str | object = UNSET,
        set_tags: Mapping[str, str] | None = None, delete_tags: Sequence[str] = (),
    ) -> RegisteredModel:
        """Change the description and/or tags (deleting an absent tag is a no-op); bumps
        ``updated_at``. Raises `ModelNotFoundError`."""

    @abc.abstractmethod
    def delete_registered_model(self, name: str) -> None:
        """Remove the model, all its versions and aliases for good. Idempotent."""

    # -- versions ---------------------------------------------------------------------
    @abc.abstractmethod
    def create_model_version(
        self, name: str, *, run_id: str | None, artifact_path: str, flavor: str,
        signature: Mapping[str, Any] | None = None, metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None, description: str = "",
        lineage: Lineage | None = None, created_by: str | None = None,
    ) -> ModelVersion:
        """Add version ``max(existing, deleted included) + 1``; concurrent callers get distinct
        numbers. Raises `ModelNotFoundError`."""

    @abc.abstractmethod
    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """The version (soft-deleted ones too, with status ``deleted``) and the aliases that
        point at it. Raises `ModelVersionNotFoundError` (or `ModelNotFoundError`)."""

    @abc.abstractmethod
    def list_model_versions(self, name: str, *,
                            include_deleted: bool = False) -> list[ModelVersion]:
        """Versions ordered by number. Raises `ModelNotFoundError`."""

    @abc.abstractmethod
    def update_model_version(
        self, name: str, version: int, *, description: str | object = UNSET,
        set_tags: Mapping[str, str] | None = None, delete_tags: Sequence[str] = (),
    ) -> ModelVersion:
        """Change a version's description and/or tags. Raises `ModelVersionNotFoundError`."""

    @abc.abstractmethod
    def set_model_version_deleted(self, name: str, version: int, *,
                                  at: datetime) -> ModelVersion:
        """Soft-delete a version and remove the aliases pointing at it, in one transaction.
        Idempotent. Raises `ModelVersionNotFoundError`."""

    @abc.abstractmethod
    def purge_model_version(self, name: str, version: int) -> None:
        """Remove a version and its aliases for good. Idempotent."""

    # -- aliases ----------------------------------------------------------------------
    @abc.abstractmethod
    def get_alias(self, name: str, alias: str) -> ModelAlias:
        """Raises `AliasNotFoundError` (or `ModelNotFoundError`)."""

    @abc.abstractmethod
    def list_aliases(self, name: str) -> list[ModelAlias]:
        """Aliases of a model ordered by alias name."""

    @abc.abstractmethod
    def set_alias(
        self, name: str, alias: str, version: int, *,
        expected_revision: int | object | None = UNSET, updated_by: str | None = None,
    ) -> ModelAlias:
        """Point ``alias`` at ``version`` as one compare-and-swap.

        ``expected_revision``: UNSET moves unconditionally; None requires that the alias does
        not exist yet; an int requires that the alias is still at that revision. Otherwise it
        raises `AliasConflictError` and changes nothing. The new revision is the old one plus
        one (1 for a new alias). Raises `ModelVersionNotFoundError` for an unknown or deleted
        version.
        """

    @abc.abstractmethod
    def delete_alias(self, name: str, alias: str, *,
                     expected_revision: int | object | None = UNSET) -> None:
        """Remove an alias. Without ``expected_revision`` it is idempotent; with an int it
        raises `AliasConflictError` unless the alias exists at that revision."""


class AuditStore(abc.ABC):
    """An append-only trail of who changed what, shared by every subsystem."""

    @abc.abstractmethod
    def record_audit_event(
        self, *, action: str, target_type: str, target_id: str, actor: str | None = None,
        detail: Mapping[str, Any] | None = None, at: datetime | None = None,
    ) -> AuditEvent:
        """Append one event (``detail`` must be JSON-serializable) and return it with its id.
        Ids grow with every call."""

    @abc.abstractmethod
    def list_audit_events(self, target_type: str, target_id: str | None = None, *,
                          max_results: int = 1000) -> list[AuditEvent]:
        """Events of a target (or of every target of that type), oldest first, at most
        ``max_results`` of the newest."""
