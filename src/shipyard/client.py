"""The composition root: the only place that turns Settings into backends and services."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from shipyard.auth import AuthService
from shipyard.config import Settings, load_settings
from shipyard.errors import ConfigError
from shipyard.models import ModelService
from shipyard.monitoring import MonitoringService
from shipyard.registry import registry_service
from shipyard.stores._registry import load_backend
from shipyard.stores.artifacts import ArtifactStore
from shipyard.stores.identity import IdentityStore
from shipyard.stores.metadata import MetadataStore
from shipyard.stores.monitoring import MonitorStore
from shipyard.stores.registry import AuditStore, ModelStore
from shipyard.stores.serving import DeploymentStore
from shipyard.tracking import TrackingService

if TYPE_CHECKING:
    from shipyard.serving import ServingService


def build_metadata_store(settings: Settings) -> MetadataStore:
    uri = settings.tracking_uri if settings.is_remote else settings.resolved_metadata_uri()
    assert uri is not None
    store: MetadataStore = load_backend("metadata", uri).from_uri(uri, settings)
    return store


def build_artifact_store(settings: Settings) -> ArtifactStore:
    uri = settings.tracking_uri if settings.is_remote else settings.resolved_artifact_uri()
    assert uri is not None
    store: ArtifactStore = load_backend("artifact", uri).from_uri(uri, settings)
    return store


class Client:
    """Entry point of the library: ``Client().tracking.search_runs(...)``.

    Pass a `Settings`, or keyword overrides of any setting (``Client(home="/tmp/x")``).
    """

    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        self.settings = settings if settings is not None else load_settings(**overrides)
        self.metadata = build_metadata_store(self.settings)
        self.artifacts = build_artifact_store(self.settings)
        self.tracking = TrackingService(self.metadata, self.artifacts, self.settings)
        model_store = self.metadata if isinstance(self.metadata, ModelStore) else None
        self.models = ModelService(self.tracking, self.settings, model_store)
        self.registry = registry_service(model_store, self.tracking, self.models, self.settings)

    @functools.cached_property
    def auth(self) -> AuthService:
        """Users, API tokens and access rules, kept in the metadata database (so not
        available in client mode: manage users on the server host)."""
        if not isinstance(self.metadata, IdentityStore):
            msg = f"The {self.metadata.backend_name!r} metadata store keeps no users or tokens."
            raise ConfigError(msg, hint="run `shipyard users` / `shipyard tokens` on the "
                                        "server host, against its metadata database")
        audit = self.metadata if isinstance(self.metadata, AuditStore) else None
        return AuthService(self.metadata, audit)

    @functools.cached_property
    def serving(self) -> ServingService:
        """Running model servers (``shipyard serve``) and the deployments they registered."""
        from shipyard.serving import ServingService

        store = self.metadata if isinstance(self.metadata, DeploymentStore) else None
        return ServingService(store, heartbeat_interval=self.settings.serve_heartbeat_interval)

    @functools.cached_property
    def monitoring(self) -> MonitoringService:
        """Monitors over the prediction log: drift, data quality, performance with late
        labels, alerts (see docs/monitoring.md). Kept in the metadata database."""
        store = self.metadata if isinstance(self.metadata, MonitorStore) else None
        return MonitoringService(store, self.artifacts, models=self.models,
                                 registry=self.registry, tracking=self.tracking,
                                 settings=self.settings)

    def after_fork(self) -> None:
        """Call in a child process right after ``os.fork()``: the stores drop the database,
        HTTP and S3 connections inherited from the parent (each process needs its own)."""
        self.metadata.after_fork()
        self.artifacts.after_fork()

    def close(self) -> None:
        self.registry.close()
        self.metadata.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.settings.tracking_uri if self.settings.is_remote else (
            self.settings.resolved_metadata_uri())
        return f"Client({where!r})"
