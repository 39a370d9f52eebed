"""`RegistryCommands`: a model registry whose changes are decided somewhere else (a server).

In client mode the `RegistryService` must not write the registry's tables itself: the server
reads the model package, evaluates promotion gates, records the *authenticated* caller in the
audit trail and sends the webhooks. A `ModelStore` that also implements this port (the remote
backend) receives the service's commands as they were asked, and the server's own
`RegistryService` carries them out.

Contract: every command is applied by the other side's registry service with the same
validation and errors as locally (``InvalidArgumentError``, ``ModelNotFoundError``,
``ModelVersionNotFoundError``, ``AliasNotFoundError``, ``AliasConflictError``,
``PermissionDeniedError`` ...), is atomic per call, and is audited there with the caller's
identity; nothing here takes an actor. Contract tests: ``tests/contracts/test_registry_remote.py``
runs the registry's behaviour suite through a real server.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any

from shipyard.entities.registry import AuditEvent, ModelAlias, ModelVersion, RegisteredModel
from shipyard.stores.metadata import UNSET


class RegistryCommands(abc.ABC):
    """The registry's changes, as commands for a registry service elsewhere."""

    # -- registered models ------------------------------------------------------------
    @abc.abstractmethod
    def create_registered_model_command(
        self, name: str, *, description: str = "", tags: Mapping[str, Any] | None = None,
    ) -> RegisteredModel:
        """Create an empty model. Raises `ModelAlreadyExistsError`."""

    @abc.abstractmethod
    def update_registered_model_command(self, name: str, *, description: str,
                                        reason: str | None = None) -> RegisteredModel:
        """Change the description. Raises `ModelNotFoundError`."""

    @abc.abstractmethod
    def set_model_tag_command(self, name: str, key: str, value: Any, *,
                              reason: str | None = None) -> RegisteredModel:
        """Set one tag of a model."""

    @abc.abstractmethod
    def delete_model_tag_command(self, name: str, key: str, *,
                                 reason: str | None = None) -> RegisteredModel:
        """Remove one tag of a model (an absent tag is a no-op)."""

    @abc.abstractmethod
    def delete_registered_model_command(self, name: str, *, hard: bool,
                                        reason: str | None = None) -> None:
        """Soft-delete every version (``hard=False``) or remove the model for good."""

    # -- versions ---------------------------------------------------------------------
    @abc.abstractmethod
    def create_model_version_command(
        self, name: str, *, run_id: str, artifact_path: str, description: str = "",
        tags: Mapping[str, Any] | None = None, create_model: bool = True,
    ) -> ModelVersion:
        """Register the package at ``runs:/<run_id>/<artifact_path>`` as the next version;
        the other side reads its manifest, signature and the run's metrics and lineage."""

    @abc.abstractmethod
    def update_model_version_command(self, name: str, version: int, *,
                                     description: str) -> ModelVersion:
        """Change a version's description."""

    @abc.abstractmethod
    def set_version_tag_command(self, name: str, version: int, key: str, value: Any, *,
                                reason: str | None = None) -> ModelVersion:
        """Set one tag of a version."""

    @abc.abstractmethod
    def delete_version_tag_command(self, name: str, version: int, key: str, *,
                                   reason: str | None = None) -> ModelVersion:
        """Remove one tag of a version."""

    @abc.abstractmethod
    def delete_model_version_command(self, name: str, version: int, *, hard: bool,
                                     reason: str | None = None) -> None:
        """Soft-delete (or, with ``hard``, remove) a version; its aliases go either way."""

    # -- aliases ----------------------------------------------------------------------
    @abc.abstractmethod
    def set_alias_command(self, name: str, alias: str, version: int, *,
                          expected_revision: int | object | None = UNSET,
                          reason: str | None = None) -> ModelAlias:
        """Move an alias as one compare-and-swap: UNSET compares against the alias as the
        other side reads it, None requires a new alias, an int that revision. The loser of
        a race gets `AliasConflictError` (and both attempts are audited)."""

    @abc.abstractmethod
    def delete_alias_command(self, name: str, alias: str, *,
                             reason: str | None = None) -> None:
        """Remove an alias. Raises `AliasNotFoundError`."""

    # -- promotion and audit ----------------------------------------------------------
    @abc.abstractmethod
    def promote_command(
        self, name: str, *, to: str, rules: Sequence[str] = (), from_alias: str | None = None,
        version: int | None = None, reason: str | None = None, dry_run: bool = False,
    ) -> dict[str, Any]:
        """Evaluate the gate where the data is and move the alias only if every rule holds
        (never with ``dry_run``). Returns the outcome in its wire form: ``name``, ``alias``,
        ``candidate``, ``previous``, ``passed``, ``promoted`` and ``results`` (one mapping
        per rule: ``rule``, ``passed``, ``left``, ``op``, ``right``, ``detail``,
        ``skipped``). A failing rule is an outcome, not an error; `AliasConflictError` is
        raised when the alias moved during the evaluation."""

    @abc.abstractmethod
    def model_history(self, name: str, *, max_results: int = 1000) -> list[AuditEvent]:
        """The model's audit trail, oldest first (at most ``max_results`` of the newest)."""
