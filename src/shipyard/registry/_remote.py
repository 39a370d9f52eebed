"""The registry service in client mode: reads through the `ModelStore` port like everywhere,
changes sent as `RegistryCommands` to the server, whose own `RegistryService` validates them,
evaluates promotion gates, audits the authenticated caller and sends the webhooks.

The public surface and the errors are those of `RegistryService`, so ``Client().registry``,
``shipyard.log_model(..., registered_model=...)`` and ``shipyard models`` work unchanged. An
``actor`` argument is ignored here: the server records who is signed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from shipyard._internal.wire import load
from shipyard.entities.registry import AuditEvent, ModelAlias, ModelVersion, RegisteredModel
from shipyard.registry._service import PromotionResult, RegistryService, _check_version
from shipyard.registry._webhooks import WebhookDispatcher
from shipyard.stores.metadata import UNSET
from shipyard.stores.registry_commands import RegistryCommands

if TYPE_CHECKING:
    from shipyard.config import Settings
    from shipyard.models import ModelService
    from shipyard.stores.registry import ModelStore
    from shipyard.tracking import TrackingService


class RemoteRegistryService(RegistryService):
    """`RegistryService` whose changes are carried out by a server (see module docstring)."""

    def __init__(self, store: ModelStore, tracking: TrackingService, models: ModelService,
                 settings: Settings) -> None:
        super().__init__(store, tracking, models, settings)
        assert isinstance(store, RegistryCommands)
        self.commands: RegistryCommands = store
        self.webhooks = WebhookDispatcher(())  # the server sends them

    # -- registered models ------------------------------------------------------------
    def create_registered_model(self, name: str, *, description: str = "",
                                tags: Mapping[str, Any] | None = None,
                                actor: str | None = None) -> RegisteredModel:
        return self.commands.create_registered_model_command(name, description=description,
                                                             tags=tags)

    def update_registered_model(self, name: str, *, description: str,
                                actor: str | None = None, reason: str | None = None,
                                ) -> RegisteredModel:
        return self.commands.update_registered_model_command(name, description=description,
                                                             reason=reason)

    def set_model_tag(self, name: str, key: str, value: Any, *, actor: str | None = None,
                      reason: str | None = None) -> RegisteredModel:
        return self.commands.set_model_tag_command(name, key, value, reason=reason)

    def delete_model_tag(self, name: str, key: str, *, actor: str | None = None,
                         reason: str | None = None) -> RegisteredModel:
        return self.commands.delete_model_tag_command(name, key, reason=reason)

    def delete_registered_model(self, name: str, *, hard: bool = True,
                                actor: str | None = None, reason: str | None = None) -> None:
        self.commands.delete_registered_model_command(name, hard=hard, reason=reason)

    # -- versions ---------------------------------------------------------------------
    def create_model_version(
        self, name: str, *, run_id: str, artifact_path: str = "model", description: str = "",
        tags: Mapping[str, Any] | None = None, actor: str | None = None,
        create_model: bool = True,
    ) -> ModelVersion:
        return self.commands.create_model_version_command(
            name, run_id=run_id, artifact_path=artifact_path, description=description,
            tags=tags, create_model=create_model)

    def update_model_version(self, name: str, version: int, *, description: str,
                             actor: str | None = None) -> ModelVersion:
        return self.commands.update_model_version_command(name, _check_version(version),
                                                          description=description)

    def set_version_tag(self, name: str, version: int, key: str, value: Any, *,
                        actor: str | None = None, reason: str | None = None) -> ModelVersion:
        return self.commands.set_version_tag_command(name, _check_version(version), key, value,
                                                     reason=reason)

    def delete_version_tag(self, name: str, version: int, key: str, *,
                           actor: str | None = None, reason: str | None = None) -> ModelVersion:
        return self.commands.delete_version_tag_command(name, _check_version(version), key,
                                                        reason=reason)

    def delete_model_version(self, name: str, version: int, *, hard: bool = False,
                             actor: str | None = None, reason: str | None = None) -> None:
        self.commands.delete_model_version_command(name, _check_version(version), hard=hard,
                                                   reason=reason)

    # -- aliases ----------------------------------------------------------------------
    def set_alias(self, name: str, alias: str, version: int | str, *,
                  expected_revision: int | object | None = UNSET, actor: str | None = None,
                  reason: str | None = None) -> ModelAlias:
        return self.commands.set_alias_command(name, alias, _check_version(version),
                                               expected_revision=expected_revision,
                                               reason=reason)

    def delete_alias(self, name: str, alias: str, *, actor: str | None = None,
                     reason: str | None = None) -> None:
        self.commands.delete_alias_command(name, alias, reason=reason)

    # -- audit and promotion ----------------------------------------------------------
    def history(self, name: str, *, max_results: int = 1000) -> list[AuditEvent]:
        return self.commands.model_history(name, max_results=max_results)

    def evaluate_promotion(self, name: str, *, to: str, rules: Sequence[str] = (),
                           from_alias: str | None = None,
                           version: int | str | None = None) -> tuple[PromotionResult,
                                                                      ModelAlias | None]:
        """The server evaluates the gate (a dry run); the alias it was evaluated against is
        read afterwards."""
        data = self.commands.promote_command(
            name, to=to, rules=rules, from_alias=from_alias,
            version=None if version is None else _check_version(version), dry_run=True)
        return load(PromotionResult, data), self.find_alias(name, to)

    def try_promote(self, name: str, *, to: str, rules: Sequence[str] = (),
                    from_alias: str | None = None, version: int | str | None = None,
                    actor: str | None = None, reason: str | None = None) -> PromotionResult:
        data = self.commands.promote_command(
            name, to=to, rules=rules, from_alias=from_alias,
            version=None if version is None else _check_version(version), reason=reason)
        return load(PromotionResult, data)


def registry_service(store: ModelStore | None, tracking: TrackingService,
                     models: ModelService, settings: Settings) -> RegistryService:
    """The registry service for a store: `RemoteRegistryService` when the store hands its
    changes to a server (`RegistryCommands`), else the local `RegistryService`."""
    if isinstance(store, RegistryCommands):
        return RemoteRegistryService(store, tracking, models, settings)
    return RegistryService(store, tracking, models, settings)
