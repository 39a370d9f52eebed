"""Client mode for the model registry: `ModelStore` reads and `RegistryCommands` over
``/api/v1/models``.

`RemoteMetadataStore` inherits this, so a `Client` with ``SHIPYARD_TRACKING_URI`` set to a
server resolves ``models:/`` URIs and runs ``Client().registry`` through the server. Reads
map onto the GET routes. Changes are sent as commands that the server's `RegistryService`
carries out: it reads the model package, evaluates promotion gates, and audits the
authenticated caller, so nothing here sends an actor. The store-level writes of `ModelStore`
(which take values such as ``created_by`` or a flavor that only the server may decide) are
refused with `ConfigError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote

from shipyard._internal.wire import load
from shipyard.backends.remote._session import segment as _seg
from shipyard.entities.registry import (
    AuditEvent,
    Lineage,
    ModelAlias,
    ModelVersion,
    RegisteredModel,
)
from shipyard.errors import ConfigError
from shipyard.stores.metadata import UNSET
from shipyard.stores.registry import ModelStore
from shipyard.stores.registry_commands import RegistryCommands

if TYPE_CHECKING:
    from shipyard.backends.remote._session import RemoteSession

MODELS = "/api/v1/models"
PAGE = 1000


def _key(value: str) -> str:
    return quote(value, safe="/")  # tag keys may hold "/"; the route takes a path


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)  # tag values, as the service has them


def _tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    return {k: _text(v) for k, v in (tags or {}).items()}


def _model(name: str) -> str:
    return f"{MODELS}/{_seg(name)}"


def _version(name: str, version: int) -> str:
    return f"{_model(name)}/versions/{_seg(version)}"


class RemoteRegistryStore(ModelStore, RegistryCommands):
    """The registry ports over a Shipyard server; a mixin for a class with ``session``."""

    session: RemoteSession

    def _json(self, method: str, path: str, *, json: Any = None,
              params: Mapping[str, Any] | None = None, idempotent: bool | None = None) -> Any:
        return self.session.json(method, path, json=json, params=params, idempotent=idempotent)

    @staticmethod
    def _refuse(what: str) -> NoReturn:
        msg = (f"In client mode the registry's store-level {what} is not available: the "
               "server decides versions, actors and gates.")
        raise ConfigError(msg, hint="use Client().registry (its changes go through the "
                                    "server's /api/v1/models routes)")

    # -- ModelStore: reads ------------------------------------------------------------
    def get_registered_model(self, name: str) -> RegisteredModel:
        return load(RegisteredModel, self._json("GET", _model(name)))

    def list_registered_models(self, *, max_results: int = 100,
                               offset: int = 0) -> list[RegisteredModel]:
        out: list[RegisteredModel] = []
        while len(out) < max_results:  # the route serves at most PAGE per request
            want = min(PAGE, max_results - len(out))
            page = self._json("GET", MODELS, params={"max_results": want,
                                                     "offset": offset + len(out)})
            models: list[RegisteredModel] = load(list[RegisteredModel], page["models"])
            out.extend(models)
            if len(models) < want:
                break
        return out

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        return load(ModelVersion, self._json("GET", _version(name, version)))

    def list_model_versions(self, name: str, *,
                            include_deleted: bool = False) -> list[ModelVersion]:
        return load(list[ModelVersion], self._json(
            "GET", f"{_model(name)}/versions", params={"include_deleted": include_deleted}))

    def get_alias(self, name: str, alias: str) -> ModelAlias:
        return load(ModelAlias, self._json("GET", f"{_model(name)}/aliases/{_seg(alias)}"))

    def list_aliases(self, name: str) -> list[ModelAlias]:
        return load(list[ModelAlias], self._json("GET", f"{_model(name)}/aliases"))

    # -- ModelStore: store-level writes are the server's ---------------------------------
    def create_registered_model(
        self, name: str, *, description: str = "", tags: Mapping[str, str] | None = None,
        created_by: str | None = None,
    ) -> RegisteredModel:
        self._refuse("create_registered_model")

    def update_registered_model(
        self, name: str, *, description: str | object = UNSET,
        set_tags: Mapping[str, str] | None = None, delete_tags: Sequence[str] = (),
    ) -> RegisteredModel:
        self._refuse("update_registered_model")

    def delete_registered_model(self, name: str) -> None:
        self._refuse("delete_registered_model")

    def create_model_version(
        self, name: str, *, run_id: str | None, artifact_path: str, flavor: str,
        signature: Mapping[str, Any] | None = None, metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None, description: str = "",
        lineage: Lineage | None = None, created_by: str | None = None,
    ) -> ModelVersion:
        self._refuse("create_model_version")

    def update_model_version(
        self, name: str, version: int, *, description: str | object = UNSET,
        set_tags: Mapping[str, str] | None = None, delete_tags: Sequence[str] = (),
    ) -> ModelVersion:
        self._refuse("update_model_version")

    def set_model_version_deleted(self, name: str, version: int, *,
                                  at: datetime) -> ModelVersion:
        self._refuse("set_model_version_deleted")

    def purge_model_version(self, name: str, version: int) -> None:
        self._refuse("purge_model_version")

    def set_alias(
        self, name: str, alias: str, version: int, *,
        expected_revision: int | object | None = UNSET, updated_by: str | None = None,
    ) -> ModelAlias:
        self._refuse("set_alias")

    def delete_alias(self, name: str, alias: str, *,
                     expected_revision: int | object | None = UNSET) -> None:
        self._refuse("delete_alias")

    # -- RegistryCommands -----------------------------------------------------------------
    def create_registered_model_command(
        self, name: str, *, description: str = "", tags: Mapping[str, Any] | None = None,
    ) -> RegisteredModel:
        body = {"name": name, "description": description, "tags": _tags(tags)}
        return load(RegisteredModel, self._json("POST", MODELS, json=body, idempotent=False))

    def update_registered_model_command(self, name: str, *, description: str,
                                        reason: str | None = None) -> RegisteredModel:
        body = {"description": description, "reason": reason}
        return load(RegisteredModel, self._json("PATCH", _model(name), json=body,
                                                idempotent=True))

    def set_model_tag_command(self, name: str, key: str, value: Any, *,
                              reason: str | None = None) -> RegisteredModel:
        body = {"value": _text(value), "reason": reason}
        return load(RegisteredModel, self._json("PUT", f"{_model(name)}/tags/{_key(key)}",
                                                json=body))

    def delete_model_tag_command(self, name: str, key: str, *,
                                 reason: str | None = None) -> RegisteredModel:
        return load(RegisteredModel, self._json(
            "DELETE", f"{_model(name)}/tags/{_key(key)}", params={"reason": reason}))

    def delete_registered_model_command(self, name: str, *, hard: bool,
                                        reason: str | None = None) -> None:
        self._json("DELETE", _model(name), params={"hard": hard, "reason": reason},
                   idempotent=False)

    def create_model_version_command(
        self, name: str, *, run_id: str, artifact_path: str, description: str = "",
        tags: Mapping[str, Any] | None = None, create_model: bool = True,
    ) -> ModelVersion:
        body = {"run_id": run_id, "artifact_path": artifact_path, "description": description,
                "tags": _tags(tags), "create_model": create_model}
        return load(ModelVersion, self._json("POST", f"{_model(name)}/versions", json=body,
                                             idempotent=False))

    def update_model_version_command(self, name: str, version: int, *,
                                     description: str) -> ModelVersion:
        return load(ModelVersion, self._json("PATCH", _version(name, version),
                                             json={"description": description},
                                             idempotent=True))

    def set_version_tag_command(self, name: str, version: int, key: str, value: Any, *,
                                reason: str | None = None) -> ModelVersion:
        body = {"value": _text(value), "reason": reason}
        return load(ModelVersion, self._json(
            "PUT", f"{_version(name, version)}/tags/{_key(key)}", json=body))

    def delete_version_tag_command(self, name: str, version: int, key: str, *,
                                   reason: str | None = None) -> ModelVersion:
        return load(ModelVersion, self._json(
            "DELETE", f"{_version(name, version)}/tags/{_key(key)}", params={"reason": reason}))

    def delete_model_version_command(self, name: str, version: int, *, hard: bool,
                                     reason: str | None = None) -> None:
        self._json("DELETE", _version(name, version), params={"hard": hard, "reason": reason},
                   idempotent=False)

    def set_alias_command(self, name: str, alias: str, version: int, *,
                          expected_revision: int | object | None = UNSET,
                          reason: str | None = None) -> ModelAlias:
        body: dict[str, Any] = {"version": version, "reason": reason}
        if expected_revision is not UNSET:  # absent: compare against the server's read
            body["expected_revision"] = expected_revision
        # Not retried on a lost answer: a replayed unconditional move would audit twice.
        return load(ModelAlias, self._json("PUT", f"{_model(name)}/aliases/{_seg(alias)}",
                                           json=body, idempotent=False))

    def delete_alias_command(self, name: str, alias: str, *,
                             reason: str | None = None) -> None:
        self._json("DELETE", f"{_model(name)}/aliases/{_seg(alias)}",
                   params={"reason": reason}, idempotent=False)

    def promote_command(
        self, name: str, *, to: str, rules: Sequence[str] = (), from_alias: str | None = None,
        version: int | None = None, reason: str | None = None, dry_run: bool = False,
    ) -> dict[str, Any]:
        body = {"to": to, "rules": list(rules), "from_alias": from_alias, "version": version,
                "reason": reason, "dry_run": dry_run}
        out: dict[str, Any] = self._json("POST", f"{_model(name)}/promote", json=body,
                                         idempotent=dry_run)
        return out

    def model_history(self, name: str, *, max_results: int = 1000) -> list[AuditEvent]:
        return load(list[AuditEvent], self._json("GET", f"{_model(name)}/history",
                                                 params={"max_results": max_results}))
